// The NDJSON export: a generated dataset streamed row by row as the client reads (the stream
// stops if it leaves). Generating and sending rows costs CPU and bandwidth for as long as the
// client keeps reading, so both the size of one export and how many one address may run at
// once are bounded.
import { type App, HttpError, ndjson, type SluiceRequest } from "sluice";

export const DEFAULT_EXPORT_ROWS = 100_000;
/** The most rows one export may ask for: about 10 MB. */
export const MAX_EXPORT_ROWS = 100_000;
/** Exports one client address may have running at once; one more gets 429. */
export const MAX_EXPORTS_PER_IP = 2;

export function addExport(app: App): void {
  const running = new Map<string, number>(); // address -> exports streaming now

  /** Takes one of the address's places, or refuses; the returned function gives it back (once). */
  function acquire(req: SluiceRequest): () => void {
    // The socket's address, as the App's maxConnectionsPerIp counts by default. Behind a
    // proxy, count by the address the proxy reports instead.
    const address = req.ip ?? "unknown";
    const count = running.get(address) ?? 0;
    if (count >= MAX_EXPORTS_PER_IP) {
      throw new HttpError(
        429,
        `At most ${MAX_EXPORTS_PER_IP} exports at once from one address: wait for one to finish`,
        undefined,
        { headers: { "retry-after": "10" } },
      );
    }
    running.set(address, count + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (running.get(address) ?? 1) - 1;
      if (left > 0) running.set(address, left);
      else running.delete(address); // the map holds only addresses exporting right now
    };
  }

  app.get("/export.ndjson", (req) => {
    const param = req.query.get("rows");
    const rows = param === null ? DEFAULT_EXPORT_ROWS : Number(param);
    if (!/^\d+$/.test(param ?? "0") || rows > MAX_EXPORT_ROWS)
      throw new HttpError(400, `rows must be a whole number from 0 to ${MAX_EXPORT_ROWS}`);
    const release = acquire(req);
    // The rows' `finally` gives the place back when the export ends, or when the client
    // leaves (its `return()` runs); the abort covers a response that never started.
    req.signal.addEventListener("abort", release, { once: true });
    return ndjson(releasing(exportRows(rows), release), {
      headers: { "content-disposition": 'attachment; filename="export.ndjson"' },
    });
  });
}

function* releasing<T>(rows: Iterable<T>, release: () => void): Generator<T> {
  try {
    yield* rows;
  } finally {
    release();
  }
}

const CITIES = ["Lisbon", "Osaka", "Nairobi", "Lima", "Oslo", "Austin", "Pune", "Perth"];

function* exportRows(count: number) {
  const start = Date.UTC(2024, 0, 1);
  for (let id = 1; id <= count; id++) {
    yield {
      id,
      customer: `customer-${((id * 7919) % 100_000).toString().padStart(5, "0")}`,
      city: CITIES[id % CITIES.length],
      amount: ((id * 104_729) % 100_000) / 100,
      at: new Date(start + id * 60_000).toISOString(),
    };
  }
}
