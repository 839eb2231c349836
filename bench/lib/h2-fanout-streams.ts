import { type ClientHttp2Session, connect as connectH2, constants } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { ChunkedBody } from "./chunked-body.js";
import type { DeliveryCheck } from "./delivery-check.js";
import { getRequest, readStreamHead } from "./http-response.js";
import { SeqLines } from "./seq-lines.js";

/*
 * The subscribers of bench/h2-fanout.ts, as cheap as can be: an HTTP/1.1 stream is a raw TCP or
 * TLS socket reading a chunked body (no HTTP parser), an h2 connection is one node:http2
 * client session carrying many `request()`s. Either way every body goes through SeqLines into
 * its stream's DeliveryCheck (each event's seq, exactly once).
 */

/** Where the streams go: the server's port, TLS or not, the path (`/sse` or `/ndjson`). */
export interface StreamTarget {
  port: number;
  tls: boolean;
  path: string;
}

/** What the pool needs of a connection: its streams' first error, and how to close it. */
export interface OpenConnection {
  readonly errors: string[];
  close(): void;
}

const HOST = "127.0.0.1";

/** One HTTP/1.1 stream on its own connection; resolves once its 200 head came. */
export function openHttp1Stream(
  target: StreamTarget,
  check: DeliveryCheck,
): Promise<OpenConnection> {
  const socket: Socket = target.tls
    ? connectTls({
        host: HOST,
        port: target.port,
        rejectUnauthorized: false,
        ALPNProtocols: ["http/1.1"],
      })
    : connectTcp({ host: HOST, port: target.port });
  const errors: string[] = [];
  const lines = new SeqLines((bytes, start, end) => check.deliver(bytes, start, end));
  const body = new ChunkedBody((bytes, start, end) => lines.push(bytes, start, end));
  let head: Buffer | undefined = Buffer.alloc(0);
  let closing = false;
  return new Promise((resolve, reject) => {
    const fail = (message: string) => {
      errors.push(message);
      reject(new Error(message));
      socket.destroy();
    };
    socket.once(target.tls ? "secureConnect" : "connect", () => {
      socket.write(getRequest(target.path));
    });
    socket.on("data", (chunk: Buffer) => {
      if (head === undefined) return body.push(chunk);
      const read = readStreamHead(head, chunk);
      if ("error" in read) return fail(read.error.message);
      if ("pending" in read) {
        head = read.pending;
        return;
      }
      head = undefined;
      resolve({
        errors,
        close: () => {
          closing = true;
          socket.destroy();
        },
      });
      body.push(read.body);
    });
    socket.on("error", (error) => fail(`HTTP/1.1 stream: ${error.message}`));
    socket.on("close", () => {
      if (!closing) errors.push("HTTP/1.1 stream: the connection closed");
    });
  });
}

/** One h2 connection carrying one stream per check; resolves once every stream has its 200. */
export async function openH2Connection(
  target: StreamTarget,
  checks: DeliveryCheck[],
): Promise<OpenConnection> {
  const scheme = target.tls ? "https" : "http";
  const session = connectH2(`${scheme}://${HOST}:${target.port}`, { rejectUnauthorized: false });
  const errors: string[] = [];
  let closing = false;
  session.on("error", (error) => errors.push(`h2 session: ${error.message}`));
  session.on("goaway", (code) => errors.push(`h2 session: GOAWAY ${code} from the server`));
  session.on("close", () => {
    if (!closing) errors.push("h2 session: the connection closed");
  });
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  await Promise.all(checks.map((check) => openH2Stream(session, target.path, check, errors)));
  return {
    errors,
    close: () => {
      closing = true;
      session.destroy();
    },
  };
}

function openH2Stream(
  session: ClientHttp2Session,
  path: string,
  check: DeliveryCheck,
  errors: string[],
): Promise<void> {
  const stream = session.request({ [constants.HTTP2_HEADER_PATH]: path });
  const lines = new SeqLines((bytes, start, end) => check.deliver(bytes, start, end));
  stream.on("data", (chunk: Buffer) => lines.push(chunk));
  stream.on("end", () => errors.push("h2 stream ended by the server"));
  return new Promise((resolve, reject) => {
    stream.once("response", (headers) => {
      const status = headers[constants.HTTP2_HEADER_STATUS];
      if (Number(status) === 200) return resolve();
      const message = `h2 stream: status ${status}`;
      errors.push(message);
      reject(new Error(message));
    });
    stream.on("error", (error) => {
      errors.push(`h2 stream: ${error.message}`);
      reject(error);
    });
  });
}
