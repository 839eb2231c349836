import { HttpError, isHttpError } from "../http/http-error.js";

/** What a quoted-string (RFC 9110) may hold: printable ASCII and tab, no control characters. */
const QUOTABLE = /^[\t -~]*$/;

/** Checks a realm (or any challenge parameter set in the options) when the middleware is made. */
export function checkRealm(where: string, realm: unknown): string {
  if (typeof realm !== "string" || realm === "" || !QUOTABLE.test(realm)) {
    throw new TypeError(`${where}: realm must be a non-empty string of printable ASCII`);
  }
  return realm;
}

/** A challenge parameter as a quoted-string; characters a header may not carry are dropped. */
export function quoted(value: string): string {
  return `"${value.replace(/[^\t -~]/g, "").replace(/["\\]/g, "\\$&")}"`;
}

/** `Scheme realm="...", name="value"...`, for the `WWW-Authenticate` header of a 401. */
export function challenge(
  scheme: string,
  params: Record<string, string | undefined>,
): Record<string, string> {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${quoted(value)}`);
  return { "www-authenticate": `${scheme} ${parts.join(", ")}` };
}

/** A 401 that carries its challenge. */
export function unauthorized(
  message: string,
  scheme: string,
  params: Record<string, string | undefined>,
  cause?: unknown,
): HttpError {
  return new HttpError(401, message, undefined, { headers: challenge(scheme, params), cause });
}

/** What a `verify` function may answer: the principal, or a falsy value to refuse. */
export type Verified<P> = P | false | null | undefined | 0 | "";

/**
 * Runs a `verify` function: the principal when it returned a truthy value, `undefined` when it
 * refused (a falsy value, or any error but an HttpError), and an HttpError passed on as is.
 */
export async function runVerify<P>(
  verify: () => Verified<P> | Promise<Verified<P>>,
  onError: (error: unknown) => void,
): Promise<{ principal: P } | { refused: HttpError | undefined }> {
  try {
    const principal = await verify();
    return principal ? { principal: principal as P } : { refused: undefined };
  } catch (error) {
    if (isHttpError(error)) return { refused: error };
    onError(error);
    return { refused: undefined };
  }
}
