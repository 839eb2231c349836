import { type Agent, type IncomingMessage, type OutgoingHttpHeaders, request } from "node:http";

export interface RequestOptions {
  headers?: OutgoingHttpHeaders;
  /** Sent as a JSON body with `content-type: application/json`. */
  json?: unknown;
  /** A raw body. */
  body?: string | Uint8Array;
  /** Query parameters appended to the path. */
  query?: Record<string, string> | URLSearchParams;
}

export interface Exchange {
  message: IncomingMessage;
}

/** Sends one request over a real socket; resolves when the response head arrives. */
export function exchange(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions,
  agent: Agent | false,
): Promise<IncomingMessage> {
  // The path is sent exactly as given (no URL normalisation: `//x`, `..` and `%2e` reach the
  // server untouched, which is what tests of routing edge cases need).
  const { hostname, port } = new URL(baseUrl);
  const { target, headers, body } = requestParts(path, options);
  // A connection of its own (no agent) would otherwise announce `connection: close`; browsers
  // and EventSource keep connections alive, and servers answer accordingly.
  if (agent === false && !hasHeader(headers, "connection")) headers.connection = "keep-alive";
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = request({
      host: hostname,
      port,
      path: target,
      method: method.toUpperCase(),
      headers,
      agent,
    });
    outgoing.once("response", resolve);
    outgoing.once("error", reject);
    outgoing.end(body);
  });
}

/** The target (path and query), headers and body a request's options make. */
export function requestParts(
  path: string,
  options: RequestOptions,
): { target: string; headers: OutgoingHttpHeaders; body: string | Uint8Array | undefined } {
  if (!path.startsWith("/")) {
    throw new TypeError(`TestClient paths must start with "/": ${JSON.stringify(path)}`);
  }
  const target = options.query ? appendQuery(path, new URLSearchParams(options.query)) : path;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!hasHeader(headers, "content-type")) headers["content-type"] = "application/json";
  }
  // Node sends a GET or DELETE body without framing unless told its length: the server would
  // then read the body as the next request on the connection.
  if (
    body !== undefined &&
    !hasHeader(headers, "content-length") &&
    !hasHeader(headers, "transfer-encoding")
  ) {
    headers["content-length"] = Buffer.byteLength(body);
  }
  return { target, headers, body };
}

function appendQuery(path: string, query: URLSearchParams): string {
  const encoded = query.toString();
  if (encoded === "") return path;
  return `${path}${path.includes("?") ? "&" : "?"}${encoded}`;
}

export function hasHeader(headers: OutgoingHttpHeaders, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

export function readAll(message: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on("data", (chunk: Buffer) => chunks.push(chunk));
    message.once("end", () => resolve(Buffer.concat(chunks)));
    message.once("error", reject);
  });
}
