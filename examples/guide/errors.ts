// Error handling: refuse with an HttpError before streaming starts, what a failure in the
// middle of a stream looks like, and an SSE route that tells its clients what went wrong and
// how long to wait before reconnecting.
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { App, HttpError, SseEvent, StreamingResponse } from "sluice";

/** A stand-in for your storage: "broken" loses its connection half-way through. */
const REPORTS = new Map([
  ["q1", ["north,120", "south,80", "east,95"]],
  ["broken", ["north,120", "south,80", "east,95"]],
]);

async function* reportRows(id: string, signal: AbortSignal): AsyncGenerator<string> {
  const rows = REPORTS.get(id) ?? [];
  for (const [index, row] of rows.entries()) {
    await sleep(10, undefined, { signal });
    if (id === "broken" && index === 2) throw new Error("storage connection lost");
    yield `${row}\n`;
  }
}

export function createErrorsApp(app = new App(), { stepMs = 50, retryMs = 2000 } = {}): App {
  // #region before-streaming
  app.get("/reports/:id", async (req) => {
    // Check everything you can *before* returning the stream: an HttpError thrown here is a
    // real 404 with a JSON body, not a 200 that stops short.
    if (!REPORTS.has(req.params.id)) throw new HttpError(404, `No report ${req.params.id}`);
    async function* csv() {
      yield "region,total\n";
      // A failure from here on cannot change the status (the 200 is already out): sluice
      // logs it and cuts the connection without the final chunk, so the client sees a
      // truncated transfer instead of a complete-looking file.
      yield* reportRows(req.params.id, req.signal);
    }
    return new StreamingResponse(csv(), { headers: { "content-type": "text/csv; charset=utf-8" } });
  });
  // #endregion

  // #region sse-errors
  const jobs = new Map([
    ["ok", { failAt: Number.POSITIVE_INFINITY }],
    ["flaky", { failAt: 2 }],
  ]);
  app.sse("/jobs/:id/progress", { retry: retryMs, errorEvent: true }, (req) => {
    const job = jobs.get(req.params.id);
    if (!job) throw new HttpError(404, "No such job"); // before streaming: EventSource gives up
    return (async function* () {
      for (let percent = 0; percent <= 100; percent += 25) {
        if (percent / 25 === job.failAt) throw new HttpError(502, "The worker went away");
        yield new SseEvent({ event: "progress", data: { percent } });
        await sleep(stepMs, undefined, { signal: req.signal });
      }
    })();
  });
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createErrorsApp().listen({ handleSignals: true });
}
