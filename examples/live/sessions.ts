// Server-side sessions: the cookie holds a random session id, and a session exists only while
// the server keeps it. Sign-out deletes it, so a copy of the cookie (from a shared computer,
// a log, a stolen laptop) stops working at once, not when the cookie would have expired.
//
// The store is a Map in each process, kept in step through the "sessions" topic: a process
// publishes the sessions it opens and closes, and applies those of the others (with Redis,
// every `npm start` on the same REDIS_URL knows every session). A process that starts later
// learns the sessions still in the topic's log; one it never heard of is refused (fail
// closed: that visitor signs in again). The topic and the store hold a SHA-256 of the id,
// never the id itself, so reading them (in Redis, say) does not let anyone in.
import { createHash, randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { App } from "sluice";
import { validName } from "./auth.js";

export const SESSIONS_TOPIC = "sessions";
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * Most sessions kept at once (per process). Signing in costs nothing, so without a cap a
 * script could fill the memory; past it the oldest session is signed out.
 */
export const MAX_SESSIONS = 10_000;
/** The length of a session id: 32 random bytes in base64url. */
const ID_LENGTH = 43;
const ID = /^[\w-]{43}$/;

export interface Session {
  /** The store's key: SHA-256 of the id, the only form that leaves this process. */
  readonly key: string;
  readonly name: string;
  /** ms since the epoch */
  readonly expires: number;
}

interface SessionEvent {
  server: string;
  op: "open" | "close";
  key: string;
  name?: string;
  expires?: number;
}

/** The key the store knows a session id by. */
function keyOf(id: string): string {
  return createHash("sha256").update(id).digest("base64url");
}

export class Sessions {
  /** key -> session, in the order they were opened (so the oldest, first to expire, lead). */
  private readonly byKey = new Map<string, Session>();
  /** Aborted when the session ends: its open streams and sockets end with it. */
  private readonly endings = new Map<string, AbortController>();
  private readonly abort = new AbortController();
  private loaded: () => void = () => {};
  /**
   * Settles once the sessions in the topic's log are known (or could not be read): until
   * then, a visitor signed in on another process would be refused here.
   */
  readonly ready = new Promise<void>((resolve) => {
    this.loaded = resolve;
  });

  constructor(
    private readonly app: App,
    /** This process, to skip its own events when they come back from the topic. */
    private readonly server: string,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Opens a session for `name`; returns the id to put in the cookie. */
  async open(name: string): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString("base64url");
    const session: Session = { key: keyOf(id), name, expires: this.now() + SESSION_TTL_MS };
    this.remember(session);
    try {
      await this.publish({ op: "open", key: session.key, name, expires: session.expires });
    } catch (error) {
      this.forget(session.key); // the others do not know it: it would only work here
      throw error;
    }
    return { id, session };
  }

  /** The live session a cookie's id names, if any. */
  find(id: string | undefined): Session | undefined {
    if (id === undefined || id.length !== ID_LENGTH || !ID.test(id)) return undefined;
    return this.get(keyOf(id));
  }

  /** The live session with this key, if any. */
  get(key: string): Session | undefined {
    const session = this.byKey.get(key);
    if (session && session.expires <= this.now()) {
      this.forget(key);
      return undefined;
    }
    return session;
  }

  /**
   * Ends a session everywhere (the others hear through the topic), then here. If the topic
   * cannot be reached it rejects and the session stays, so that signing out can be retried.
   */
  async close(session: Session): Promise<void> {
    await this.publish({ op: "close", key: session.key });
    this.forget(session.key);
  }

  /** Aborts when the session ends (sign-out, expiry seen, eviction). */
  endingOf(session: Session): AbortSignal {
    if (!this.byKey.has(session.key)) return AbortSignal.abort();
    let controller = this.endings.get(session.key);
    if (!controller) {
      controller = new AbortController();
      // One listener per open stream or socket of the session: as many as the connection
      // caps let in, which is past Node's warning at 10.
      setMaxListeners(0, controller.signal);
      this.endings.set(session.key, controller);
    }
    return controller.signal;
  }

  /**
   * Applies the sessions in the topic's log, then those the other processes open and close,
   * until stop() or the app closes.
   */
  async follow(): Promise<void> {
    const signal = this.abort.signal;
    // A broker that does not answer (Redis unreachable at start) must not hold every request.
    setTimeout(this.loaded, 5000).unref();
    try {
      const past = await this.app.history(SESSIONS_TOPIC, { limit: 2 * MAX_SESSIONS });
      for (const message of past) this.apply(message.data);
      this.loaded();
      const after = past.at(-1)?.id;
      for await (const message of this.app.subscribe(SESSIONS_TOPIC, {
        lastEventId: after,
        signal,
      }))
        this.apply(message.data);
    } catch (error) {
      this.loaded();
      if (signal.aborted) return;
      // Sessions opened elsewhere are now refused here; the ones opened here still work.
      this.app.logger.error({ err: error }, "stopped following the sessions topic");
    }
  }

  stop(): void {
    this.abort.abort();
  }

  private async publish(event: Omit<SessionEvent, "server">): Promise<void> {
    await this.app.publish(SESSIONS_TOPIC, { server: this.server, ...event });
  }

  /** An event from the topic, checked field by field: anything may have been published there. */
  private apply(data: unknown): void {
    if (typeof data !== "object" || data === null) return;
    const { server, op, key, name, expires } = data as Partial<SessionEvent>;
    if (server === this.server || typeof key !== "string" || key.length !== ID_LENGTH) return;
    if (op === "close") this.forget(key);
    else if (op === "open" && validName(name) === name && Number.isFinite(expires))
      this.remember({ key, name: name as string, expires: expires as number });
  }

  private remember(session: Session): void {
    const now = this.now();
    // Oldest first: drop the expired ones at the front, then the oldest while full.
    for (const [key, oldest] of this.byKey) {
      if (oldest.expires > now && this.byKey.size < MAX_SESSIONS) break;
      this.forget(key);
    }
    if (session.expires > now) this.byKey.set(session.key, session);
  }

  private forget(key: string): void {
    this.byKey.delete(key);
    const controller = this.endings.get(key);
    if (controller) {
      this.endings.delete(key);
      controller.abort();
    }
  }
}
