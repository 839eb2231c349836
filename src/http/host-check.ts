import type { IncomingMessage } from "node:http";

/**
 * What is wrong with a request's Host or absolute-form target, if anything (RFC 9112 §3.2:
 * a request with more than one Host, or an invalid one, must get 400). Node keeps the first
 * of two Host headers and leaves the target's authority unchecked, so these are checked here:
 * two Hosts, or an authority that does not parse, let a request say one host to a proxy
 * and another to the app.
 */
export function hostProblem(raw: IncomingMessage): string | undefined {
  let hosts = 0;
  const headers = raw.rawHeaders;
  for (let index = 0; index < headers.length; index += 2) {
    if (headers[index].length === 4 && headers[index].toLowerCase() === "host") hosts++;
  }
  if (hosts > 1) return "More than one Host header";
  const target = raw.url ?? "/";
  if (target.startsWith("/") || target === "*") return undefined;
  if (!URL.canParse(target)) return `Malformed request target ${JSON.stringify(target)}`;
  return undefined;
}
