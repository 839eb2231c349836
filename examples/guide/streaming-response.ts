// Streaming responses: a plain-text stream from an async generator, and an NDJSON export
// read from a (pretend) database one page at a time.
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { App, ndjson, StreamingResponse } from "sluice";

interface Order {
  id: number;
  total: number;
}

/** A stand-in for your database: 250 orders, served 100 per query. */
const ORDERS: Order[] = Array.from({ length: 250 }, (_, i) => ({ id: i + 1, total: (i % 7) * 10 }));
async function fetchOrderPage(page: number, signal: AbortSignal): Promise<Order[]> {
  await sleep(5, undefined, { signal }); // the query's round trip
  return ORDERS.slice(page * 100, page * 100 + 100);
}

export function createStreamingApp(app = new App(), { delayMs = 500 } = {}): App {
  // #region text
  app.get("/countdown", (req) => {
    const from = Math.min(Math.max(Number(req.query.get("from")) || 3, 1), 10);
    async function* countdown() {
      for (let n = from; n > 0; n--) {
        // The response head is already out while this first wait runs: the client knows at
        // once that it was accepted, before any body arrives.
        await sleep(delayMs, undefined, { signal: req.signal });
        yield `${n}...\n`; // each item is written as soon as it is produced
      }
      yield "liftoff!\n";
    }
    return new StreamingResponse(countdown(), {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  });
  // #endregion

  // #region ndjson
  app.get("/orders.ndjson", (req) => {
    async function* allOrders() {
      for (let page = 0; ; page++) {
        const rows = await fetchOrderPage(page, req.signal);
        if (rows.length === 0) return;
        yield* rows; // one JSON line per order
      }
    }
    return ndjson(allOrders()); // content-type: application/x-ndjson; charset=utf-8
  });
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createStreamingApp().listen({ handleSignals: true });
}
