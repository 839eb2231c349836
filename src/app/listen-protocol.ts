import { createSecureContext } from "node:tls";
import type { ListenOptions, TlsOptions } from "./listen.js";

/**
 * What `listen()` serves, from its `http2` and `tls` options:
 * - `http1`: HTTP/1.1 (node:http), or HTTPS/1.1 (node:https) when `tls` is given;
 * - `h2`: HTTP/2 over TLS with ALPN, HTTP/1.1 on the same port (node:http2, allowHTTP1);
 * - `h2c`: HTTP/2 in cleartext with prior knowledge (node:http2's createServer).
 */
export type ListenProtocol =
  | { readonly kind: "http1"; readonly tls: TlsOptions | undefined }
  | { readonly kind: "h2"; readonly tls: TlsOptions; readonly webSockets: boolean }
  | { readonly kind: "h2c"; readonly tls: undefined; readonly webSockets: boolean };

/** The protocol the options ask for; a TypeError that says how to fix options that do not fit. */
export function listenProtocol(options: ListenOptions): ListenProtocol {
  const { http2, tls } = options;
  if (http2 !== undefined && typeof http2 !== "boolean" && http2 !== "cleartext") {
    throw new TypeError(
      `http2 must be true (HTTP/2 over TLS), "cleartext" (h2c) or false, got ${describe(http2)}`,
    );
  }
  const webSockets = http2WebSockets(options);
  if (http2 === "cleartext") {
    if (tls !== undefined) {
      throw new TypeError(
        'http2: "cleartext" serves h2c without TLS, but tls was given: use http2: true for HTTP/2 over TLS',
      );
    }
    return { kind: "h2c", tls: undefined, webSockets };
  }
  const checkedTls = tls === undefined ? undefined : checkTls(tls);
  if (http2 === true) {
    if (!checkedTls) {
      throw new TypeError(
        'http2: true serves HTTP/2 over TLS: pass tls: { key, cert } too (browsers speak HTTP/2 only over TLS), or use http2: "cleartext" for h2c behind a proxy',
      );
    }
    return { kind: "h2", tls: checkedTls, webSockets };
  }
  return { kind: "http1", tls: checkedTls };
}

/** Whether WebSockets are served over h2 (RFC 8441): a boolean, and only with `http2`. */
function http2WebSockets(options: ListenOptions): boolean {
  const { http2, http2WebSockets: given } = options;
  if (given === undefined) return true;
  if (typeof given !== "boolean") {
    throw new TypeError(`http2WebSockets must be true or false, got ${describe(given)}`);
  }
  if (!http2) {
    throw new TypeError(
      'http2WebSockets applies to HTTP/2 only: pass http2: true (or "cleartext") with it, or leave it out',
    );
  }
  return given;
}

function checkTls(tls: unknown): TlsOptions {
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) {
    throw new TypeError(`tls must be an object { key, cert } (PEM), got ${describe(tls)}`);
  }
  const { key, cert } = tls as Partial<TlsOptions>;
  for (const [name, value] of [
    ["key", key],
    ["cert", cert],
  ] as const) {
    if (value === undefined) {
      throw new TypeError(`tls.${name} is missing: give the PEM ${name} as a string or Buffer`);
    }
    if (!isPem(value)) {
      throw new TypeError(
        `tls.${name} must be PEM text or bytes (a string or Buffer, or an array of them), got ${describe(value)}`,
      );
    }
  }
  loadable(tls as TlsOptions);
  return tls as TlsOptions;
}

/**
 * Loads the key, the certificate, then both together, so that the error says which one is
 * wrong (OpenSSL's own says "no start line" or "key values mismatch", naming neither).
 */
function loadable(tls: TlsOptions): void {
  const { key, cert, passphrase } = tls;
  const attempts: [string, () => void][] = [
    [
      "tls.key could not be loaded as a PEM private key",
      () => createSecureContext({ key, passphrase }),
    ],
    ["tls.cert could not be loaded as a PEM certificate", () => createSecureContext({ cert })],
    ["tls.key and tls.cert do not go together", () => createSecureContext(tls)],
  ];
  for (const [problem, attempt] of attempts) {
    try {
      attempt();
    } catch (error) {
      throw new TypeError(`${problem}: ${(error as Error).message}`, { cause: error });
    }
  }
}

function isPem(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(isPemPart);
  return isPemPart(value);
}

function isPemPart(value: unknown): boolean {
  if (typeof value === "string" || value instanceof Uint8Array) return value.length > 0;
  // `key` may be given as { pem, passphrase } objects, as node:tls accepts.
  return typeof value === "object" && value !== null && "pem" in value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value === "object"
    ? Array.isArray(value)
      ? "an array"
      : "an object"
    : String(value);
}
