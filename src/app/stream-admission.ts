import { HttpError } from "../http/http-error.js";
import type { SluiceRequest } from "../http/request.js";
import { cancelSource, openSource } from "../http/stream-source.js";
import { StreamingResponse } from "../http/streaming-response.js";
import {
  type ConnectionCaps,
  type ConnectionRefusal,
  type ConnectionSlot,
  isRefusal,
  RETRY_AFTER_SECONDS,
} from "../server/connection-caps.js";
import type { StreamSending } from "../stream/stream-sender.js";
import { logSafely } from "../util/logger.js";

/**
 * Keeps SSE streams and WebSockets under the connection caps (`maxConnections`,
 * `maxConnectionsPerIp`): a stream takes a place before it starts and gives it back when its
 * response ends, however it ends. An app without caps has none of this.
 */
export class StreamAdmission {
  readonly #caps: ConnectionCaps;
  /** SSE requests holding a place under the caps, until their response ends. */
  readonly #slots = new WeakMap<SluiceRequest, ConnectionSlot>();

  constructor(caps: ConnectionCaps) {
    this.#caps = caps;
  }

  /**
   * Takes a place for an `app.sse()` stream before its handler runs, so that a refused client
   * starts nothing; a 503 HttpError when a cap is reached. HEAD gets the head alone, nothing
   * long-lived: it is not counted.
   */
  takeStreamSlot(request: SluiceRequest): void {
    if (request.method === "HEAD" || this.#slots.has(request)) return;
    const refusal = this.#hold(request);
    if (refusal) throw tooManyConnections(refusal);
  }

  /**
   * An SSE stream answered by a route that is not `app.sse()` (an SseResponse, a hand-made
   * `text/event-stream` stream already given its SSE lifecycle, or a web Response) takes its
   * place here. Refused, its source is closed unread and the 503 to send is returned.
   */
  admitEventStream(request: SluiceRequest, answer: unknown): HttpError | undefined {
    if (request.method === "HEAD" || this.#slots.has(request) || !isEventStream(answer)) {
      return undefined;
    }
    const refusal = this.#hold(request);
    if (!refusal) return undefined;
    if (answer instanceof StreamingResponse) {
      cancelSource(openSource(answer.source), (failure) =>
        logSafely(
          request.log,
          "warn",
          { err: failure },
          "stream producer failed while being cancelled",
        ),
      );
    } else (answer as Response).body?.cancel().catch(() => {});
    return tooManyConnections(refusal);
  }

  /** Gives the request's place back once `sending` ends; at once when nothing is streaming. */
  releaseWhenSent(request: SluiceRequest, sending: StreamSending | undefined): void {
    const slot = this.#slots.get(request);
    if (!slot) return;
    if (sending) sending.whenEnded().then(slot.release);
    else slot.release(); // an answer instead of a stream (204, say): already sent
  }

  /** Gives the request's place back, if it holds one (its answer is an error). */
  release(request: SluiceRequest): void {
    this.#slots.get(request)?.release();
  }

  /** A place for a WebSocket, or the refusal (logged) it is to be closed with. */
  acquireForWebSocket(request: SluiceRequest): ConnectionSlot | ConnectionRefusal {
    const place = this.#caps.acquire(request);
    if (isRefusal(place)) logRefusal(request, place, "WebSocket");
    return place;
  }

  /** Takes a place for the request's stream until its response closes; else the refusal. */
  #hold(request: SluiceRequest): ConnectionRefusal | undefined {
    const place = this.#caps.acquire(request);
    if (isRefusal(place)) {
      logRefusal(request, place, "SSE stream");
      return place;
    }
    this.#slots.set(request, place);
    request.response.once("close", place.release);
    return undefined;
  }
}

function logRefusal(request: SluiceRequest, refusal: ConnectionRefusal, what: string): void {
  logSafely(
    request.log,
    "info",
    { limit: refusal.limit },
    `${what} refused: connection cap reached`,
  );
}

function tooManyConnections(refusal: ConnectionRefusal): HttpError {
  return new HttpError(503, refusal.message, undefined, {
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
  });
}

function isEventStream(answer: unknown): boolean {
  if (answer instanceof StreamingResponse) return answer.lifecycle.countsAs === "sse";
  return answer instanceof Response && isWebEventStream(answer);
}

function isWebEventStream(response: Response): boolean {
  if (response.body === null) return false;
  return /^\s*text\/event-stream\s*(;|$)/i.test(response.headers.get("content-type") ?? "");
}
