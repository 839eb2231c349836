import type { Http2ServerRequest } from "node:http2";
import { isHttp2Request, type NodeRequest } from "./node-http.js";

/** RFC 3986 uri-host (an IP literal in brackets, or a reg-name) with an optional port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d{0,5})?$/;

/**
 * Checks a request's Host, as RFC 9112 §3.2 asks: more than one Host header, or an invalid
 * one, gets 400 (Node keeps the first of two and checks none). A request in absolute-form
 * (`GET http://host/path`) names its host in the target, which then wins over the Host header
 * (§3.2.2): the header is rewritten to it, so that the app (routing by host, the WebSocket
 * origin check) sees what a proxy in front saw. Returns what is wrong, if anything.
 */
export function checkHost(raw: NodeRequest): string | undefined {
  if (isHttp2Request(raw)) return checkAuthority(raw);
  let hosts = 0;
  const headers = raw.rawHeaders;
  for (let index = 0; index < headers.length; index += 2) {
    if (headers[index].length === 4 && headers[index].toLowerCase() === "host") hosts++;
  }
  if (hosts > 1) return "More than one Host header";
  const host = raw.headers.host;
  if (host !== undefined && !HOST.test(host)) return `Invalid Host header ${JSON.stringify(host)}`;
  const target = raw.url ?? "/";
  if (target.startsWith("/") || target === "*") return undefined;
  if (!URL.canParse(target)) return `Malformed request target ${JSON.stringify(target)}`;
  const authority = new URL(target).host;
  if (authority !== "") raw.headers.host = authority;
  return undefined;
}

/**
 * An h2 request names its host in `:authority` (RFC 9113 §8.3.1), which Node does not copy
 * to `host`: it is copied here, so the app reads `host` whatever the protocol. A Host header
 * beside it must name the same host; either one must be valid.
 */
function checkAuthority(raw: Http2ServerRequest): string | undefined {
  const authority = raw.headers[":authority"];
  const host = raw.headers.host;
  for (const value of [authority, host]) {
    if (value !== undefined && !HOST.test(value)) return `Invalid Host ${JSON.stringify(value)}`;
  }
  if (authority === undefined) return undefined;
  if (host !== undefined && host !== authority) return "The Host header differs from :authority";
  raw.headers.host = authority;
  return undefined;
}
