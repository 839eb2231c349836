// The live demo (issue 7): a page with a dashboard fed by SSE from a topic, chat rooms over
// WebSockets, an NDJSON export, and sign-in with a name in a signed cookie. See main.ts to
// run it; the pieces are in auth.ts, dashboard.ts, chat.ts, cluster.ts and static.ts.
import {
  App,
  type Broker,
  HttpError,
  HttpResponse,
  type LoggerOption,
  ndjson,
  type SluiceRequest,
} from "../../src/index.js";
import {
  MAX_NAME_LENGTH,
  requireSignIn,
  Signer,
  secretFromEnv,
  sessionCookie,
  TOKEN_TTL_MS,
  validName,
} from "./auth.js";
import { createChat } from "./chat.js";
import { Cluster } from "./cluster.js";
import { createDashboard } from "./dashboard.js";
import { serveStatic } from "./static.js";

export interface LiveAppOptions {
  /** How often metrics are published, in ms. Default 1000. */
  tickMs?: number;
  /** Signs the cookies and tokens. Default: SLUICE_SECRET, or random per process. */
  secret?: string;
  /** Where the topics live. Default: in memory (use redisBroker() to share them). */
  broker?: Broker;
  logger?: LoggerOption;
}

export interface LiveApp {
  app: App;
  /** Stops the metrics timer (the app's close stops it too). */
  stop(): void;
  /** Destroys the socket of every open dashboard stream; returns how many. For tests. */
  dropEventStreams(): number;
}

export const DEFAULT_EXPORT_ROWS = 100_000;
export const MAX_EXPORT_ROWS = 2_000_000;

export function createLiveApp(options: LiveAppOptions = {}): LiveApp {
  const tickMs = options.tickMs ?? 1000;
  const app = new App({ broker: options.broker, logger: options.logger });
  const signer = new Signer(options.secret ?? secretFromEnv());

  const publicPaths = serveStatic(app);
  app.use(
    requireSignIn(signer, (req) =>
      req.method === "POST"
        ? req.path === "/api/signin" || req.path === "/api/signout"
        : (req.method === "GET" || req.method === "HEAD") && publicPaths.has(req.path),
    ),
  );

  app.post("/api/signin", async (req) => {
    requireJson(req, 'Send JSON: {"name": "..."}');
    const body = await req.json<{ name?: unknown }>();
    const name = validName(body?.name);
    if (!name)
      throw new HttpError(
        422,
        `A name is 1-${MAX_NAME_LENGTH} letters, digits, spaces, . _ or -, starting with a letter or digit`,
      );
    req.setResponseHeader("set-cookie", sessionCookie(signer, name));
    // The token is for clients that cannot keep the cookie.
    return { name, token: signer.sign("token", name, TOKEN_TTL_MS) };
  });
  app.post("/api/signout", (req) => {
    requireJson(req, "Send JSON: {}");
    req.setResponseHeader("set-cookie", sessionCookie(signer));
    return HttpResponse.empty(204);
  });
  app.get("/api/me", (req) => ({ name: req.state.user }));
  app.get("/api/token", (req) => {
    if (req.state.authVia !== "cookie")
      throw new HttpError(401, "A token is minted for the session cookie only");
    return {
      token: signer.sign("token", String(req.state.user), TOKEN_TTL_MS),
      expiresIn: TOKEN_TTL_MS / 1000,
    };
  });

  app.get("/export.ndjson", (req) => {
    const param = req.query.get("rows");
    const rows = param === null ? DEFAULT_EXPORT_ROWS : Number(param);
    if (!/^\d+$/.test(param ?? "0") || rows > MAX_EXPORT_ROWS)
      throw new HttpError(400, `rows must be a whole number from 0 to ${MAX_EXPORT_ROWS}`);
    return ndjson(exportRows(rows), {
      headers: { "content-disposition": 'attachment; filename="export.ndjson"' },
    });
  });

  const cluster = new Cluster(app, tickMs);
  const chat = createChat(app, cluster);
  const dashboard = createDashboard(app, cluster, tickMs, chat.rooms, chat.refreshPresence);
  const stop = () => {
    dashboard.stop();
    cluster.stop();
  };
  // sluice has no close hook; the app's close ends every subscription, this one included.
  void cluster.follow(stop);

  return { app, stop, dropEventStreams: dashboard.dropEventStreams };
}

const CITIES = ["Lisbon", "Osaka", "Nairobi", "Lima", "Oslo", "Austin", "Pune", "Perth"];

/** A generated dataset, row by row as the client reads (the stream stops if it leaves). */
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

/**
 * JSON only: a cross-site <form> cannot send it (and a cross-site fetch with it needs a CORS
 * preflight this app never grants), so no other site signs visitors in or out.
 */
function requireJson(req: SluiceRequest, hint: string): void {
  if (!req.header("content-type")?.startsWith("application/json")) throw new HttpError(415, hint);
}
