import type { Logger } from "pino";
import type { ValidationError } from "../http/validation-error.js";
import { logSafely } from "../util/logger.js";
import { CloseCode } from "./close-codes.js";
import type { DecodedMessage, MessageDecoder } from "./message-decoder.js";
import { refusalReason } from "./message-decoder.js";
import type { Inbox, InboxMessage } from "./message-inbox.js";

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
 * one per socket, with its one callback bound here: nothing more is allocated per message
 * than the parse and the validation.
 */
export class MessageReader implements AsyncIterator<unknown> {
  readonly #inbox: Inbox;
  readonly #socket: ReadingSocket;
  readonly #decoder: MessageDecoder;
  readonly #onMessage: (step: IteratorResult<InboxMessage>) => Step | Promise<Step>;
  /** The socket was closed over a refused message or a failed schema: nothing more is read. */
  #stopped = false;

  constructor(inbox: Inbox, socket: ReadingSocket, decoder: MessageDecoder) {
    this.#inbox = inbox;
    this.#socket = socket;
    this.#decoder = decoder;
    this.#onMessage = (step) => this.#decode(step);
  }

  next(): Promise<Step> {
    if (this.#stopped) return Promise.resolve(DONE);
    return this.#inbox.next().then(this.#onMessage);
  }

  /** Leaving a loop early does not close the socket: the handler's end does. */
  return(): Promise<Step> {
    return Promise.resolve(DONE);
  }

  /** `receive()`: the next message's output, or undefined once closed. */
  take(): Promise<unknown> {
    return this.next().then(stepValue);
  }

  #decode(step: IteratorResult<InboxMessage>): Step | Promise<Step> {
    if (step.done || this.#stopped) return DONE;
    const raw = step.value;
    let decoded: DecodedMessage | Promise<DecodedMessage>;
    try {
      decoded = this.#decoder.decode(raw);
    } catch (error) {
      return this.#schemaFailed(error);
    }
    if (decoded instanceof Promise) {
      return decoded.then(
        (settled) => this.#settle(settled, raw),
        (error: unknown) => this.#schemaFailed(error),
      );
    }
    return this.#settle(decoded, raw);
  }

  #settle(decoded: DecodedMessage, raw: InboxMessage): Step | Promise<Step> {
    if (decoded.ok) return { done: false, value: decoded.value };
    const { error } = decoded;
    const onInvalid = this.#decoder.onInvalid;
    if (onInvalid === "close") return this.#closeRefused(error, decoded.closeCode);
    if (onInvalid === "skip") {
      logSafely(
        this.#log,
        "debug",
        { reason: error.message },
        "WebSocket message refused; skipped",
      );
      return this.next();
    }
    // What it throws (or rejects with) rejects this read: the handler's loop throws it.
    return Promise.resolve(onInvalid(error, this.#socket, raw)).then(() => this.next());
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
