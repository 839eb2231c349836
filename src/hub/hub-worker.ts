import cluster from "node:cluster";
import type { App } from "../app/app.js";
import { logWritesSettled } from "../util/logger.js";
import { isClusterMessage } from "./cluster-messages.js";

/** How long a worker waits for the primary's gathering before it answers with its own sample alone. */
const GATHERED_TIMEOUT_MS = 2000;

/**
 * Makes this cluster worker's hub answer its primary: a `drain` message, SIGTERM or SIGINT
 * closes the App gracefully and exits (0, or 1 if the close failed); a SIGINT from a terminal
 * reaches the whole process group, so the signal and the primary's drain that follows are
 * one and the same close. `sample` answers the primary's gathering of metrics with
 * `sample()`.
 */
export function serveAsWorker(app: App, sample: () => unknown): void {
  let draining = false;
  const drain = () => {
    if (draining) return;
    draining = true;
    app.logger.info("closing gracefully");
    app.close().then(
      () => exitAfterLogs(app, 0),
      (error: unknown) => {
        app.logger.error({ err: error }, "graceful close failed");
        void exitAfterLogs(app, 1);
      },
    );
  };
  process.on("SIGTERM", drain);
  process.on("SIGINT", drain);
  process.on("message", (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.sluice === "drain") drain();
    if (message.sluice === "sample?") {
      process.send?.({ sluice: "sample", id: message.id, sample: sample() });
    }
  });
}

async function exitAfterLogs(app: App, code: number): Promise<void> {
  await logWritesSettled(app.logger, 500);
  process.exit(code);
}

let nextGather = 1;
/** The gatherings this worker asked the primary for, by id: one IPC listener serves them all. */
const asked = new Map<number, (samples: readonly unknown[]) => void>();

function onGathered(message: unknown): void {
  if (isClusterMessage(message) && message.sluice === "gathered")
    asked.get(message.id)?.(message.samples);
}

/**
 * A metrics source for a cluster worker: the samples of every worker, gathered by the
 * primary; this worker's own alone if the primary does not answer in time.
 */
export function gatheredSamples<T>(sample: () => T): () => Promise<readonly T[]> {
  return () => {
    if (!cluster.isWorker || !process.send) return Promise.resolve([sample()]);
    const id = nextGather++;
    if (asked.size === 0) process.on("message", onGathered);
    return new Promise((resolve) => {
      const finish = (samples: readonly T[]) => {
        clearTimeout(timer);
        asked.delete(id);
        if (asked.size === 0) process.off("message", onGathered);
        resolve(samples);
      };
      const timer = setTimeout(() => finish([sample()]), GATHERED_TIMEOUT_MS);
      asked.set(id, (samples) => finish(samples as T[]));
      process.send?.({ sluice: "gather", id });
    });
  };
}
