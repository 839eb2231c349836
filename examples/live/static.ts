// The page's files, served from public/. Only the files that are there when the app starts
// can be asked for, by exact name: the decoded `:file` param is looked up in that list and
// never joined to a path, so `/..%2fpackage.json` and friends find nothing. The sluice client
// the page imports is served beside them (client-script.ts).
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type App, HttpError, HttpResponse } from "sluice";
import type { ClientScript } from "./client-script.js";

const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

const HEADERS = {
  "cache-control": "no-cache", // revalidate each time: edits show on reload
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

/**
 * Serves public/ (index.html at `/`) and the client's script; returns the paths anyone may
 * fetch without signing in.
 */
export function serveStatic(app: App, client: ClientScript): Set<string> {
  const files = new Map<string, string>(); // name -> content type
  for (const entry of readdirSync(PUBLIC_DIR, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)];
    if (entry.isFile() && type) files.set(entry.name, type);
  }

  const send = async (name: string) => {
    const type = files.get(name);
    if (!type) throw new HttpError(404, "Not Found");
    const body = await readFile(join(PUBLIC_DIR, name));
    return new HttpResponse(body, { headers: { ...HEADERS, "content-type": type } });
  };
  app.get("/", () => send("index.html"));
  app.get("/:file", (req) => send(req.params.file));

  const javascript = { ...HEADERS, "content-type": CONTENT_TYPES[".js"] };
  for (const path of client.paths) {
    app.get(path, async (req) => {
      const text = await client.read(path).catch((error) => {
        req.log.error({ err: error }, "the sluice client could not be built");
        throw new HttpError(503, "The sluice client script is unavailable; see the server's log");
      });
      return new HttpResponse(text, { headers: javascript });
    });
  }

  return new Set(["/", ...[...files.keys()].map((name) => `/${name}`), ...client.paths]);
}
