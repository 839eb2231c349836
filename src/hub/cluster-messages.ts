// What a `sluice hub --workers N` primary and its workers say to each other over node:cluster's
// IPC channel. Every message carries `sluice` so that anything else on the channel is ignored.

/** Primary → worker: close gracefully (the drain of app.close()), then exit. */
export interface DrainMessage {
  readonly sluice: "drain";
}

/** Worker → primary: send me every worker's metrics; the answer is a GatheredMessage with `id`. */
export interface GatherRequest {
  readonly sluice: "gather";
  readonly id: number;
}

/** Primary → worker: your metrics, please, for gathering `id`. */
export interface SampleRequest {
  readonly sluice: "sample?";
  readonly id: number;
}

/** Worker → primary: this worker's metrics for gathering `id`. */
export interface SampleMessage {
  readonly sluice: "sample";
  readonly id: number;
  readonly sample: unknown;
}

/** Primary → the worker that asked: the samples of every worker that answered in time. */
export interface GatheredMessage {
  readonly sluice: "gathered";
  readonly id: number;
  readonly samples: readonly unknown[];
}

export type ClusterMessage =
  | DrainMessage
  | GatherRequest
  | SampleRequest
  | SampleMessage
  | GatheredMessage;

const KINDS = new Set(["drain", "gather", "sample?", "sample", "gathered"]);

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    KINDS.has((value as { sluice?: unknown }).sluice as string)
  );
}
