// Client disconnects: a stream whose `finally` releases what it held when the client leaves,
// and a long non-streaming job that checks whether anyone is still waiting for its answer.
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { App, StreamingResponse } from "sluice";

export interface DisconnectStats {
  /** Streams producing right now. */
  openStreams: number;
  /** Request ids of the streams whose `finally` ran. */
  cleanedUp: string[];
  /** Reindex jobs abandoned because their client left, with the batches they had done. */
  abandonedJobs: { batchesDone: number }[];
}

export function createDisconnectApp(app = new App(), { tickMs = 200, batchMs = 50 } = {}): App {
  const stats: DisconnectStats = { openStreams: 0, cleanedUp: [], abandonedJobs: [] };
  app.get("/disconnect-stats", () => stats);

  // #region generator
  app.get("/ticks", (req) => {
    async function* ticks() {
      stats.openStreams++; // stands for what a stream holds: a DB cursor, a subscription...
      try {
        for (let n = 1; ; n++) {
          yield `tick ${n}\n`;
          // Pass req.signal to whatever you wait on: the wait rejects as soon as the client
          // leaves, instead of running to its end first.
          await sleep(tickMs, undefined, { signal: req.signal });
        }
      } finally {
        // Runs when the client leaves (or the stream ends, or the app shuts down).
        stats.openStreams--;
        stats.cleanedUp.push(req.id);
        req.log.info("ticks stream cleaned up");
      }
    }
    return new StreamingResponse(ticks(), {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  });
  // #endregion

  // #region polling
  app.post("/reindex", async (req) => {
    const batches = 20;
    for (let done = 0; done < batches; done++) {
      // Work that is not a stream: check between steps whether the client is still there.
      if (await req.isDisconnected()) {
        stats.abandonedJobs.push({ batchesDone: done });
        req.log.warn({ done }, "client left: reindex abandoned");
        return; // nobody will read the answer
      }
      await reindexBatch(done, batchMs);
    }
    return { batches };
  });
  // #endregion
  return app;
}

/** Stands for one slice of real work (it does not take a signal, so it always completes). */
async function reindexBatch(_batch: number, ms: number): Promise<void> {
  await sleep(ms);
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createDisconnectApp().listen({ handleSignals: true });
}
