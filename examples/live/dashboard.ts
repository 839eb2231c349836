// The live dashboard: server metrics published to a topic every tick, read over SSE. The
// topic's log is what makes a dropped connection cost nothing: EventSource reconnects with
// the id of the last tick it saw (Last-Event-ID) and app.subscribe() replays every tick
// after it before the live ones, with none missing or repeated at the seam.
import type { Socket } from "node:net";
import type { App } from "../../src/index.js";
import type { Cluster, ServerReport } from "./cluster.js";

export const DASHBOARD_TOPIC = "dashboard";

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
  tickMs: number,
  rooms: () => Record<string, string[]>,
  afterTick: () => void = () => {},
): Dashboard {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticks = 0;

  async function tick(): Promise<void> {
    const own = await cluster.report(rooms(), true);
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
      afterTick();
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
    // The browser sends Last-Event-ID when it reconnects by itself; the page passes
    // ?lastEventId= when it has to open a new EventSource (after a refusal).
    let lastEventId = req.lastEventId || req.query.get("lastEventId") || undefined;
    if (!lastEventId) {
      // A new visitor starts with the latest tick rather than an empty dashboard.
      const recent = await app.history(DASHBOARD_TOPIC, { limit: 2 });
      if (recent.length === 2) lastEventId = recent[0].id;
    }
    const events = app.subscribe(DASHBOARD_TOPIC, { lastEventId, signal: req.signal });
    return tracked(socket, events);
  });

  /** The stream's socket is in `streams` exactly while the stream is open, however it ends. */
  async function* tracked<T>(socket: Socket, events: AsyncIterable<T>): AsyncGenerator<T> {
    streams.add(socket);
    try {
      yield* events;
    } finally {
      streams.delete(socket);
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
