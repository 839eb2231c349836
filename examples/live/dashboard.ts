// The live dashboard: server metrics published to a topic every tick. The page follows the
// topic on its real-time connection (realtime.ts); GET /api/dashboard serves it over SSE, for
// EventSource and curl. The topic's log is what makes a dropped connection cost nothing: the
// page's client resubscribes from the last tick it delivered, EventSource reconnects with
// that tick's id (Last-Event-ID), and every tick after it is replayed before the live ones,
// with none missing or repeated at the seam.
import type { Socket } from "node:net";
import { type App, HttpError, MAX_LAST_EVENT_ID_BYTES, type SluiceRequest } from "sluice";
import type { Cluster, ServerReport } from "./cluster.js";
import type { Session, Sessions } from "./sessions.js";

export const DASHBOARD_TOPIC = "dashboard";
// `?lastEventId=` is capped like the Last-Event-ID header (SluiceRequest.lastEventId), with
// the same constant, so both ways in are bounded alike.
export { MAX_LAST_EVENT_ID_BYTES };

export interface Tick {
  /** Goes up by one per tick, across processes and leader changes. */
  seq: number;
  clients: number;
  eventsPerSec: number;
  rssMb: number;
  servers: number;
  at: number;
}

export interface Dashboard {
  stop(): void;
  dropEventStreams(): number;
}

export function createDashboard(
  app: App,
  cluster: Cluster,
  sessions: Sessions,
  tickMs: number,
): Dashboard {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticks = 0;

  async function tick(): Promise<void> {
    const own = await cluster.report(true);
    // A process that just started waits one tick to hear from the others before it leads.
    if (++ticks === 1 || !cluster.isLeader()) return;
    const [last] = await app.history(DASHBOARD_TOPIC, { limit: 1 });
    const all = [own, ...cluster.livePeers()];
    const sum = (pick: (r: ServerReport) => number) =>
      Math.round(all.reduce((total, r) => total + pick(r), 0) * 10) / 10;
    const data: Tick = {
      seq: ((last?.data as Tick | undefined)?.seq ?? 0) + 1,
      clients: sum((r) => r.clients),
      eventsPerSec: sum((r) => r.eventsPerSec),
      rssMb: sum((r) => r.rssMb),
      servers: all.length,
      at: Date.now(),
    };
    await cluster.publish(DASHBOARD_TOPIC, data, { event: "tick" });
  }

  async function loop(): Promise<void> {
    try {
      await tick();
    } catch (error) {
      // Redis down, say: the next tick tries again, and subscribers catch up from the log.
      app.logger.warn({ err: error }, "dashboard tick failed");
    }
    if (!stopped) timer = setTimeout(loop, tickMs).unref();
  }
  timer = setTimeout(loop, 0).unref();

  // The dashboard's open streams, to cut them on purpose (see dropEventStreams).
  const streams = new Set<Socket>();

  app.sse("/api/dashboard", { retry: 1000 }, async (req) => {
    const socket = req.raw.socket;
    let lastEventId = lastEventIdOf(req);
    if (!lastEventId) {
      // A new visitor starts with the latest tick rather than an empty dashboard.
      const recent = await app.history(DASHBOARD_TOPIC, { limit: 2 });
      if (recent.length === 2) lastEventId = recent[0].id;
    }
    // The stream ends when the client leaves, the app closes, or the session ends (sign-out).
    // (Either abort unhooks both listeners: the session's signal outlives the request.)
    const stop = new AbortController();
    const signals = [req.signal, sessions.endingOf(req.state.session as Session)];
    const unhook = () => {
      for (const signal of signals) signal.removeEventListener("abort", end);
    };
    const end = () => {
      unhook();
      stop.abort();
    };
    for (const signal of signals) signal.addEventListener("abort", end);
    if (signals.some((signal) => signal.aborted)) end();
    const events = app.subscribe(DASHBOARD_TOPIC, { lastEventId, signal: stop.signal });
    return tracked(socket, events, unhook);
  });

  /** The stream's socket is in `streams` exactly while the stream is open, however it ends. */
  async function* tracked<T>(
    socket: Socket,
    events: AsyncIterable<T>,
    done: () => void,
  ): AsyncGenerator<T> {
    streams.add(socket);
    try {
      yield* events;
    } finally {
      streams.delete(socket);
      done();
    }
  }

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    dropEventStreams() {
      const count = streams.size;
      for (const socket of streams) socket.destroy();
      streams.clear();
      return count;
    },
  };
}

/**
 * Where to resume from: the Last-Event-ID header EventSource sends when it reconnects by
 * itself (sluice refuses one over 1 KiB with 400), or a `?lastEventId=` for a new
 * EventSource (which cannot set the header), held to the same cap.
 */
function lastEventIdOf(req: SluiceRequest): string | undefined {
  const header = req.lastEventId;
  if (header) return header;
  const query = req.query.get("lastEventId");
  const bytes = query === null ? 0 : Buffer.byteLength(query, "utf8");
  if (bytes > MAX_LAST_EVENT_ID_BYTES) {
    throw new HttpError(
      400,
      `lastEventId is too long: ${bytes} bytes, at most ${MAX_LAST_EVENT_ID_BYTES} are accepted`,
    );
  }
  return query || undefined;
}
