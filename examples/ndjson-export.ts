// A large export streamed as NDJSON: rows are produced as the client reads them, so memory
// stays flat whatever the size, and the generator stops if the client goes away.
import { pathToFileURL } from "node:url";
import { App, ndjson } from "sluice";

/** Stands in for a database cursor: yields rows in pages. */
async function* exportRows(count: number, signal: AbortSignal) {
  const pageSize = 1000;
  for (let start = 0; start < count && !signal.aborted; start += pageSize) {
    const page = await fetchPage(start, Math.min(pageSize, count - start));
    yield* page;
  }
}

async function fetchPage(start: number, size: number) {
  await Promise.resolve(); // a real cursor would await the database here
  return Array.from({ length: size }, (_, i) => ({
    id: start + i,
    name: `customer-${start + i}`,
    balance: ((start + i) * 7919) % 10_000,
  }));
}

export function createExportApp(app = new App()): App {
  app.get("/export.ndjson", (req) => {
    const rows = Math.min(Number(req.query.get("rows") ?? 100_000), 5_000_000);
    return ndjson(exportRows(rows, req.signal), {
      headers: { "content-disposition": 'attachment; filename="export.ndjson"' },
    });
  });
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createExportApp().listen({ handleSignals: true });
}
