// Backpressure: a producer that could fill memory faster than any client reads. sluice only
// asks a generator for its next item when the socket can take more, so a `yield` to a slow
// client simply waits.
import { pathToFileURL } from "node:url";
import { App, StreamingResponse } from "sluice";

export interface FirehoseStats {
  /** Chunks the producer has handed to sluice so far. */
  produced: number;
  /** True once the producer ran to its end. */
  finished: boolean;
}

export function createBackpressureApp(
  app = new App(),
  { chunks = 2000, chunkBytes = 64 * 1024 } = {},
): App {
  const stats: FirehoseStats = { produced: 0, finished: false };
  app.get("/firehose/stats", () => stats);

  // #region producer
  app.get("/firehose", () => {
    async function* firehose() {
      const chunk = Buffer.alloc(chunkBytes, "x");
      for (let i = 0; i < chunks; i++) {
        // While the client's socket is over its high-water mark, this yield does not
        // return: the producer is paused, and nothing piles up in memory.
        yield chunk;
        stats.produced++;
      }
      stats.finished = true;
    }
    return new StreamingResponse(firehose(), {
      headers: { "content-type": "application/octet-stream" },
    });
  });
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createBackpressureApp().listen({ handleSignals: true });
}
