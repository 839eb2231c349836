import { HttpError } from "./http-error.js";
import { isHttp2Request, type NodeRequest } from "./node-http.js";
import {
  ForbiddenJsonKeyError,
  type JsonParseOptions,
  parseJson,
  protoKeysOption,
} from "./safe-json.js";

/**
 * Reads a request body into memory, refusing with 413 as soon as it is known to be larger
 * than `limit`: at once from Content-Length, or mid-way for chunked bodies. On refusal the
 * request stops being read, so a client cannot make us buffer or even read the rest.
 */
export function readBody(request: NodeRequest, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    request.pause();
    return Promise.reject(tooLarge(limit));
  }
  // Gone before we started listening: 'close' and 'error' have already fired.
  if (request.destroyed && !request.readableEnded) return Promise.reject(clientLeft());
  if (request.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        request.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        error.code === "ECONNRESET"
          ? clientLeft()
          : new HttpError(400, `Request body could not be read: ${error.message}`),
      );
    };
    const onClose = () => {
      cleanup();
      reject(clientLeft());
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("close", onClose);
  });
}

/**
 * True when the request announced a body: a length above 0, or chunked (HTTP/1.1), or over
 * h2 a HEADERS frame that did not end the stream (h2 has no chunked encoding).
 */
export function declaresBody(request: NodeRequest): boolean {
  const length = request.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  if (isHttp2Request(request)) return !request.stream.endAfterHeaders;
  return request.headers["transfer-encoding"] !== undefined;
}

function clientLeft(): HttpError {
  return new HttpError(400, "The client closed the connection before the body was complete");
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `Request body is larger than the limit of ${limit} bytes`, {
    limit,
  });
}

/**
 * The body parsed as JSON; 400 when it is empty, malformed, or (by default) holds a
 * `__proto__` or `constructor.prototype` key (see JsonParseOptions).
 */
export function parseJsonBody(body: Buffer | string, options?: JsonParseOptions): unknown {
  const protoKeys = protoKeysOption(options);
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") throw new HttpError(400, "Request body is empty; JSON was expected");
  try {
    return parseJson(text, protoKeys);
  } catch (error) {
    if (error instanceof ForbiddenJsonKeyError) {
      throw new HttpError(400, `JSON body refused: ${error.message}`, undefined, { cause: error });
    }
    throw new HttpError(400, `Malformed JSON body: ${(error as Error).message}`);
  }
}
