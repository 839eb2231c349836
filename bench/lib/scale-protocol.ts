/*
 * What bench/scale-curve.ts and its subscriber processes (bench/scale-subscribers.ts) say to
 * each other over IPC: one command at a time, each answered once (or with `failed`).
 */

export type ScaleKind = "sse" | "ws";

export type ScaleCommand =
  /** Opens subscribers until the process holds `total`, `perSecond` at most. */
  | { type: "connect"; port: number; kind: ScaleKind; total: number; perSecond: number }
  /** A new step: the producer restarts from event 0, so each subscriber's check starts over. */
  | { type: "reset" }
  | { type: "received" }
  /** Waits until every subscriber has `published` events (at most `timeoutMs`), then reports. */
  | { type: "finish"; published: number; timeoutMs: number }
  /** Disconnects every subscriber. */
  | { type: "close" };

export type ScaleAnswer =
  | { type: "connected" }
  | { type: "done" }
  /** Events received since the last reset by every subscriber of the process, summed. */
  | { type: "received"; received: number }
  | { type: "finished"; report: ScaleReport }
  | { type: "failed"; message: string };

/** What the subscribers of a process received in a step. */
export interface ScaleReport {
  subscribers: number;
  /** Subscribers that did not receive exactly the events published, each once (in order, over WebSocket). */
  wrong: number;
  /** The first few errors or wrong counts, for the message that fails the run. */
  problems: string[];
}
