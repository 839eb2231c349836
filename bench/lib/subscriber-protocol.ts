import type { DeliveryCounts } from "./delivery-counts.js";

/*
 * What bench/hub-fanout.ts and its subscriber processes (bench/hub-fanout-subscribers.ts) say
 * to each other over IPC: one command at a time, each answered once (or with `failed`).
 */

export type SubscriberCommand =
  | { type: "connect"; port: number; path: string; topic: string; sse: number; ws: number }
  | { type: "window-start" }
  | { type: "window-end" }
  /** Waits until every subscriber has `published` messages (at most `timeoutMs`), then reports and disconnects. */
  | { type: "finish"; published: number; timeoutMs: number };

export type SubscriberAnswer =
  | { type: "connected" }
  /** Messages received so far by every subscriber of the process, summed. */
  | { type: "received"; received: number }
  | { type: "finished"; report: SubscribersReport }
  | { type: "failed"; message: string };

export type Transport = "sse" | "ws";

/** What the subscribers of one transport received in a run. */
export interface TransportReport extends DeliveryCounts {
  subscribers: number;
}

export type SubscribersReport = Record<Transport, TransportReport>;
