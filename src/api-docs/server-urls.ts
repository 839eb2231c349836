/** A server's URL as HTTP clients reach it: `ws(s)://` given is shown as `http(s)://`. */
export function httpUrl(url: string): string {
  return url.replace(/^ws(s?):/i, "http$1:");
}

export interface AsyncApiServerPair {
  readonly host: string;
  readonly pathname: string | undefined;
  /** `ws` or `wss`, for the WebSocket channels. */
  readonly socketProtocol: string;
  /** `http` or `https`, for the SSE channels. */
  readonly httpProtocol: string;
}

/** The host, path and both protocols of a server URL, as AsyncAPI servers show them. */
export function serverParts(url: string): AsyncApiServerPair {
  const parsed = new URL(httpUrl(url));
  const secure = parsed.protocol === "https:";
  const pathname = parsed.pathname.replace(/\/+$/, "");
  return {
    host: parsed.host,
    pathname: pathname === "" ? undefined : pathname,
    socketProtocol: secure ? "wss" : "ws",
    httpProtocol: secure ? "https" : "http",
  };
}
