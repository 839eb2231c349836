import { type OutgoingHttpHeaders, validateHeaderName, validateHeaderValue } from "node:http";

/** The codes of the errors Node throws for a header it will not send. */
const HEADER_ERROR_CODES = new Set([
  "ERR_INVALID_CHAR", // a value with CR, LF or another control character
  "ERR_INVALID_HTTP_TOKEN", // a name that is not a token
  "ERR_HTTP_INVALID_HEADER_VALUE", // an undefined value
]);

/**
 * The name of the header Node refused to send, when `error` is that refusal: Node's messages
 * end with the name in brackets (`Invalid character in header content ["x-name"]`) and never
 * quote a bad value, so the name can be logged and the value (a cookie, user input) is not.
 */
export function refusedHeaderName(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !HEADER_ERROR_CODES.has(code)) return undefined;
  const message = (error as Error).message;
  const named = /\["(.*)"\]$/.exec(message) ?? /for header "(.*)"$/.exec(message);
  return named?.[1];
}

/** The headers Node would send, and the names of those it would refuse. */
export function withoutInvalidHeaders(headers: OutgoingHttpHeaders): {
  valid: OutgoingHttpHeaders;
  invalid: string[];
} {
  const valid: OutgoingHttpHeaders = {};
  const invalid: string[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    try {
      validateHeaderName(name);
      if (value === undefined) throw new TypeError("no value");
      // Typed as a string, but Node checks a number or an array (set-cookie) the same way.
      validateHeaderValue(name, value as string);
      valid[name] = value;
    } catch {
      invalid.push(name);
    }
  }
  return { valid, invalid };
}
