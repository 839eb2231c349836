/** What bench/servers/isolation.ts answers on GET /stats, as bench/isolation.ts reads it. */
export interface IsolationStats {
  rss: number;
  published: number;
  subscribers: number;
  connections: { websocket: number; sse: number };
  phases: PhaseFigures[];
  slow: (SlowClientFigures & { queuedNow: number })[];
}

/** One measurement phase, as the server saw it. */
export interface PhaseFigures {
  name: string;
  rssStart: number;
  rssPeak: number;
  rssEnd?: number;
  /** How late the RSS sampling timer ran over the phase, in ms: the event loop's delay. */
  loopDelayP99?: number;
  loopDelayMax?: number;
  /** RSS once a second into the phase, to tell a plateau from growth. */
  rssEverySecond: number[];
}

/** One watched (slow) client, as the server sees it; times in the server's stamp() ms. */
export interface SlowClientFigures {
  name: string;
  kind: "ws" | "sse";
  subscribedAt: number;
  /** Most bytes seen queued for it in the server (sampled after each publish). */
  peakQueuedBytes: number;
  /** When the policy cut it off (1013 sent / subscription overflowed). */
  cutAt?: number;
  /** How the server side ended: close code for a WebSocket, "stream ended" for SSE. */
  end?: string;
  endedAt?: number;
}
