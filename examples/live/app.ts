// The live demo: a page with a dashboard fed by a topic and chat rooms, both over one
// real-time connection (`app.realtime()` on the server, `connect()` from sluice/client in the
// page), an NDJSON export, and sign-in with a name in a server-side session. See main.ts to
// run it; the pieces are in auth.ts, sessions.ts, realtime.ts, dashboard.ts, chat.ts,
// export.ts, cluster.ts, static.ts and client-script.ts.
import {
  App,
  type Broker,
  HttpError,
  HttpResponse,
  type LoggerOption,
  type SluiceRequest,
} from "sluice";
import {
  MAX_NAME_LENGTH,
  requireSignIn,
  Signer,
  secretFromEnv,
  sessionCookie,
  TOKEN_TTL_MS,
  validName,
} from "./auth.js";
import { clientScript } from "./client-script.js";
import { Cluster } from "./cluster.js";
import { createDashboard } from "./dashboard.js";
import { addExport } from "./export.js";
import { addRealtime } from "./realtime.js";
import { type Session, Sessions } from "./sessions.js";
import { serveStatic } from "./static.js";

export interface LiveAppOptions {
  /** How often metrics are published, in ms. Default 1000. */
  tickMs?: number;
  /** Signs the query-string tokens. Default: SLUICE_SECRET, or random per process. */
  secret?: string;
  /** Where the topics live. Default: in memory (use redisBroker() to share them). */
  broker?: Broker;
  logger?: LoggerOption;
  /**
   * Bundle sluice/client with esbuild for the page (true), or serve dist/'s modules (false).
   * Default: bundle where esbuild is installed.
   */
  bundleClient?: boolean;
}

export interface LiveApp {
  app: App;
  /** Stops the metrics timer (the app's close stops it too). */
  stop(): void;
  /** Destroys the socket of every open dashboard stream; returns how many. For tests. */
  dropEventStreams(): number;
  /** Cuts every real-time socket (as a network failure would); returns how many. For tests. */
  dropSockets(): number;
}

/**
 * SSE streams plus WebSockets open at once (what `app.connections` counts): past it a new
 * stream gets 503 and a new socket is closed with 1013. Plain requests are not counted.
 */
export const MAX_CONNECTIONS = 1000;
/**
 * The same, from one address: a tab holds one (the real-time connection), and a dashboard
 * followed with curl or EventSource one more. Behind a proxy every visitor has its address: set the App's `clientAddress` then.
 */
export const MAX_CONNECTIONS_PER_IP = 20;

export function createLiveApp(options: LiveAppOptions = {}): LiveApp {
  const tickMs = options.tickMs ?? 1000;
  const app = new App({
    broker: options.broker,
    logger: options.logger,
    maxConnections: MAX_CONNECTIONS,
    maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP,
  });
  const signer = new Signer(options.secret ?? secretFromEnv());
  const cluster = new Cluster(app, tickMs);
  const sessions = new Sessions(app, cluster.server);

  // Everything needs sign-in but what is listed here, by method and exact path: a route
  // added later, or a path spelt another way (`/%61pi/me`), is not in the list, so it is
  // refused rather than let through.
  const publicPaths = {
    GET: serveStatic(app, clientScript(options.bundleClient)),
    POST: new Set(["/api/signin", "/api/signout"]),
  };
  const isPublic = (req: SluiceRequest) => {
    const method = req.method === "HEAD" ? "GET" : req.method;
    return (method === "GET" || method === "POST") && publicPaths[method].has(req.path);
  };
  app.use(requireSignIn(sessions, signer, isPublic));

  app.post("/api/signin", async (req) => {
    requireJson(req, 'Send JSON: {"name": "..."}');
    const body = await req.json<{ name?: unknown }>();
    const name = validName(body?.name);
    if (!name)
      throw new HttpError(
        422,
        `A name is 1-${MAX_NAME_LENGTH} letters, digits, spaces, . _ or -, starting with a letter or digit`,
      );
    const { id, session } = await sessions.open(name).catch((error) => {
      req.log.warn({ err: error }, "opening a session failed");
      throw new HttpError(503, "Signing in is unavailable right now; try again");
    });
    req.setResponseHeader("set-cookie", sessionCookie(id));
    // The token is for clients that cannot keep the cookie.
    return { name, token: signer.sign({ name, session: session.key }, TOKEN_TTL_MS) };
  });
  app.post("/api/signout", async (req) => {
    requireJson(req, "Send JSON: {}");
    const session = req.state.session as Session | undefined;
    if (session && req.state.authVia === "cookie") {
      await sessions.close(session).catch((error) => {
        // The session is still open (everywhere): the cookie is kept, so the page can retry.
        req.log.warn({ err: error }, "closing a session failed");
        throw new HttpError(503, "Signing out did not reach every server; try again");
      });
    }
    req.setResponseHeader("set-cookie", sessionCookie());
    return HttpResponse.empty(204);
  });
  app.get("/api/me", (req) => ({ name: req.state.user }));
  app.get("/api/token", (req) => {
    if (req.state.authVia !== "cookie")
      throw new HttpError(401, "A token is minted for the session cookie only");
    const session = req.state.session as Session;
    return {
      token: signer.sign({ name: session.name, session: session.key }, TOKEN_TTL_MS),
      expiresIn: TOKEN_TTL_MS / 1000,
    };
  });

  addExport(app);

  const realtime = addRealtime(app, cluster, sessions);
  const dashboard = createDashboard(app, cluster, sessions, tickMs);
  const stop = () => {
    dashboard.stop();
    cluster.stop();
    sessions.stop();
  };
  // The timers stop with the app (and with stop(), for tests that freeze the ticks); the
  // following ends too when the app's close ends every subscription.
  app.onClose(stop);
  void cluster.follow(stop);
  void sessions.follow();

  return {
    app,
    stop,
    dropEventStreams: dashboard.dropEventStreams,
    dropSockets: realtime.dropSockets,
  };
}

/**
 * JSON only: a cross-site <form> cannot send it (and a cross-site fetch with it needs a CORS
 * preflight this app never grants), so no other site signs visitors in or out.
 */
function requireJson(req: SluiceRequest, hint: string): void {
  if (!req.header("content-type")?.startsWith("application/json")) throw new HttpError(415, hint);
}
