/**
 * The one form of a request path that middleware sees and the router matches, computed once
 * per request. If the two could differ, a guard written on the path (`/admin`) would be
 * skipped by a spelling the router still routes there (`/%61dmin`).
 *
 * The canonical path is the received path fully percent-decoded (and raw non-ASCII bytes read
 * as the UTF-8 they are), so every spelling of a path has one form. Only what decoding could
 * not make safe is refused:
 * - an encoded `/` or `\` (`%2F`, `%5C`), or a raw `\`: decoded, it would change the path's
 *   segments (and some proxies treat `\` as `/`);
 * - NUL and other control characters, encoded or not;
 * - percent-encoding that is malformed, or bytes that are not strict UTF-8 (overlong forms
 *   such as `%C0%AF` included);
 * - `.` and `..` segments: browsers and HTTP clients resolve them before sending, so one that
 *   arrives was written by hand, and resolving it here would hide a traversal attempt;
 * - a target that is not a path (`*`, `example.com`).
 * A decoded `%25` stays a literal `%`: the path is decoded exactly once.
 */
export type CanonicalPath = { path: string; problem?: undefined } | { problem: string };

/** What needs more than a glance: escapes, backslashes, non-ASCII or control bytes, dot segments. */
const NEEDS_DECODING = /[^!-~]|[%\\]|\/\.\.?(?:\/|$)/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export function canonicalPath(received: string): CanonicalPath {
  if (!received.startsWith("/")) {
    return { problem: "The request target must be a path starting with /" };
  }
  if (!NEEDS_DECODING.test(received)) return { path: received };
  const bytes = receivedBytes(received);
  if (typeof bytes === "string") return { problem: bytes };
  let decoded: string;
  try {
    decoded = strictUtf8.decode(bytes);
  } catch {
    return { problem: "The request path is not valid UTF-8 (malformed or overlong encoding)" };
  }
  if (hasDotSegment(decoded)) {
    return { problem: "The request path has a . or .. segment; send the resolved path" };
  }
  return { path: decoded };
}

/** The path's bytes with every escape decoded, or what makes that unsafe. */
function receivedBytes(received: string): Uint8Array | string {
  const bytes = new Uint8Array(received.length);
  let length = 0;
  for (let index = 0; index < received.length; index++) {
    let byte = received.charCodeAt(index);
    if (byte === 0x25 /* % */) {
      byte = hexByte(received, index + 1);
      if (byte === -1) return "Malformed percent-encoding in the request path";
      if (byte === 0x2f || byte === 0x5c) {
        return "An encoded / or \\ (%2F, %5C) in the request path is refused: it would change the path's segments";
      }
      index += 2;
    } else if (byte === 0x5c) {
      return "A \\ in the request path is refused";
    }
    if (byte < 0x20 || byte === 0x7f) return "A control character in the request path is refused";
    bytes[length++] = byte;
  }
  return bytes.subarray(0, length);
}

function hexByte(text: string, at: number): number {
  const high = hexDigit(text.charCodeAt(at));
  const low = hexDigit(text.charCodeAt(at + 1));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function hasDotSegment(path: string): boolean {
  for (const segment of path.split("/")) {
    if (segment === "." || segment === "..") return true;
  }
  return false;
}
