import type { Logger } from "pino";
import type { ValidationError } from "../http/validation-error.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { logSafely } from "../util/logger.js";
import { CloseCode } from "./close-codes.js";
import type { DecodedMessage, MessageDecoder } from "./message-decoder.js";
import { refusalReason } from "./message-decoder.js";
import type { Inbox } from "./message-inbox.js";

/** What the reader needs of its socket. */
export interface ReadingSocket {
  readonly request: { readonly log: Logger };
  close(code: number, reason: string): void;
}

type Step = IteratorResult<unknown>;

const DONE: Step = { done: true, value: undefined };

/**
 * @internal How the handler of a schema route reads its socket: `for await` and `receive()`
 * take the next message from the inbox and hand out the route decoder's output, applying
 * `onInvalid` to a refused one. Made on the socket's first read (an idle socket has none),
 * one per socket: nothing more is allocated per message than the parse and the validation.
 *
 * A read is one loop over the inbox, not a chain of reads: refused messages a read skips
 * are dropped as it goes, so a peer that sends nothing valid holds no memory for them.
 */
export class MessageReader implements AsyncIterator<unknown> {
  readonly #inbox: Inbox;
  readonly #socket: ReadingSocket;
  readonly #decoder: MessageDecoder;
  /** The socket was closed over a refused message or a failed schema: nothing more is read. */
  #stopped = false;

  constructor(inbox: Inbox, socket: ReadingSocket, decoder: MessageDecoder) {
    this.#inbox = inbox;
    this.#socket = socket;
    this.#decoder = decoder;
  }

  /** The next valid message's output; what an onInvalid function throws rejects it. */
  async next(): Promise<Step> {
    for (;;) {
      if (this.#stopped) return DONE;
      const step = await this.#inbox.next();
      if (step.done || this.#stopped) return DONE;
      const raw = step.value;
      let decoded: DecodedMessage;
      try {
        const pending = this.#decoder.decode(raw);
        decoded = pending instanceof Promise ? await pending : pending;
      } catch (error) {
        return this.#schemaFailed(error);
      }
      if (decoded.ok) return { done: false, value: decoded.value };
      const onInvalid = this.#decoder.onInvalid;
      if (onInvalid === "close") return this.#closeRefused(decoded.error, decoded.closeCode);
      if (onInvalid === "skip") {
        logSafely(
          this.#log,
          "debug",
          { reason: decoded.error.message },
          "WebSocket message refused; skipped",
        );
        continue;
      }
      const answered = onInvalid(decoded.error, this.#socket, raw);
      if (isPromiseLike(answered)) await answered;
    }
  }

  /** Leaving a loop early does not close the socket: the handler's end does. */
  return(): Promise<Step> {
    return Promise.resolve(DONE);
  }

  /** `receive()`: the next message's output, or undefined once closed. */
  take(): Promise<unknown> {
    return this.next().then(stepValue);
  }

  #closeRefused(error: ValidationError, code: number): Step {
    const reason = refusalReason(error);
    logSafely(
      this.#log,
      "info",
      { code, reason: error.message },
      `WebSocket message refused by its schema; socket closed with ${code}`,
    );
    this.#stop(code, reason);
    return DONE;
  }

  /** The schema threw: the server's bug, logged once here; the handler's loop just ends. */
  #schemaFailed(error: unknown): Step {
    logSafely(
      this.#log,
      "error",
      { err: error },
      "WebSocket message schema failed; socket closed with 1011",
    );
    this.#stop(CloseCode.internalError, "Internal error");
    return DONE;
  }

  /** Messages after the one that stopped the reader are dropped, not handed out. */
  #stop(code: number, reason: string): void {
    this.#stopped = true;
    this.#inbox.discard();
    this.#socket.close(code, reason);
  }

  get #log(): Logger {
    return this.#socket.request.log;
  }
}

function stepValue(step: Step): unknown {
  return step.value;
}
