import type { Http2SecureServer, Http2Server, Http2Session } from "node:http2";

/**
 * The open HTTP/2 sessions (connections) of a server, for its graceful close: GOAWAY to
 * each, so that no new stream starts while those in flight finish, then, at the deadline,
 * the end of whatever is left. A session with no stream open for `idleMs` is closed, as an
 * idle HTTP/1.1 keep-alive connection is (Node has no such timer for h2: its `timeout` counts
 * any silence, and would cut a quiet SSE stream).
 */
export class SessionRegistry {
  readonly #sessions = new Set<Http2Session>();
  readonly #idleMs: number;
  #closing = false;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  attach(server: Http2Server | Http2SecureServer): void {
    server.on("session", (session: Http2Session) => this.#track(session));
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** GOAWAY to every session: streams in flight go on, new ones are refused; each session closes once its last stream has. */
  closeAll(): void {
    this.#closing = true;
    for (const session of this.#sessions) session.close();
  }

  destroyAll(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #track(session: Http2Session): void {
    if (this.#closing) {
      session.close();
      return;
    }
    this.#sessions.add(session);
    const idle = new IdleSession(session, this.#idleMs);
    session.once("close", () => {
      this.#sessions.delete(session);
      idle.stop();
    });
  }
}

/** Closes a session that has had no open stream for `idleMs` (0: never). */
class IdleSession {
  #open = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: Http2Session,
    private readonly idleMs: number,
  ) {
    if (idleMs === 0) return;
    session.on("stream", (stream) => {
      this.#open++;
      this.#stopTimer();
      stream.once("close", () => {
        if (--this.#open === 0) this.#startTimer();
      });
    });
    this.#startTimer();
  }

  stop(): void {
    this.#stopTimer();
  }

  #startTimer(): void {
    this.#timer = setTimeout(() => this.session.close(), this.idleMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
