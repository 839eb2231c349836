import { App } from "../app/app.js";
import { jwtAuth } from "../jwt/jwt-auth.js";
import { cors } from "../middleware/cors.js";
import { redisBroker } from "../redis/index.js";
import type { Broker } from "../topics/broker.js";
import { memoryBroker } from "../topics/memory-broker.js";
import { createLogger } from "../util/logger.js";
import { clientIpFromHeader } from "./client-ip-header.js";
import { HubAccess } from "./hub-access.js";
import { healthCheck } from "./hub-health.js";
import { type MetricsSource, metricsRoute } from "./hub-metrics.js";
import { hubOpenApi, OPENAPI_PATH } from "./hub-openapi.js";
import type { HubOptions } from "./hub-options.js";
import { publishApi } from "./publish-api.js";
import { unroutedAsProblems } from "./unrouted-problem.js";

/** Where subscribers connect: the real-time endpoint (WebSocket sluice.v1, multi-topic SSE). */
export const SUBSCRIBE_PATH = "/rt";

/** What a hub's host adds: `metrics`, the samples `GET /metrics` reports (cluster workers'). */
export interface HubExtras {
  /** Default: the hub's own App alone, `async () => [app.metrics()]`. */
  readonly metrics?: MetricsSource;
}

/**
 * The App `sluice hub` serves (not listening yet): pino JSON lines at LOG_LEVEL or info, the
 * memory broker or Redis, CORS when origins are given, the connection caps, subscribers on
 * `/rt`, the publish API (publish-api.ts), `GET /healthz`, `GET /metrics` (hub-metrics.ts;
 * open, like /healthz: keep it internal) and `GET /openapi.json` (hub-openapi.ts); a path or
 * method it has no route for is a problem document too.
 *
 * Subscribers on `/rt`: with JWT options, a token is required (the `Authorization` header,
 * `?access_token=`, or the `bearer` WebSocket subprotocol) and its topics claim says what it
 * may subscribe and publish to, within `options.topics`. Without JWT options, `/rt` is open:
 * anyone may subscribe to `options.topics` and no one publishes there (for development).
 */
export function createHub(options: HubOptions, extras: HubExtras = {}): App {
  const logger = createLogger(undefined);
  const broker: Broker = options.redis
    ? redisBroker({ url: options.redis, history: options.history, logger })
    : memoryBroker({ history: options.history });
  const app = new App({
    logger,
    broker,
    bodyLimit: options.maxBody,
    maxConnections: options.maxConnections,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    clientAddress: options.clientIpHeader ? clientIpFromHeader(options.clientIpHeader) : undefined,
  });
  if (options.corsOrigins.length > 0) {
    app.use(cors({ origin: options.corsOrigins.includes("*") ? "*" : [...options.corsOrigins] }));
  }
  app.use(unroutedAsProblems);
  addSubscribers(app, options);
  publishApi(app, options);
  app.get("/healthz", healthCheck(broker, options.redis ? "redis" : "memory"));
  app.get("/metrics", metricsRoute(extras.metrics ?? (async () => [app.metrics()])));
  app.get(OPENAPI_PATH, () => hubOpenApi());
  return app;
}

function addSubscribers(app: App, options: HubOptions): void {
  const { jwt } = options;
  if (jwt === undefined) {
    app.logger.warn(
      `no JWT options: anyone may subscribe on ${SUBSCRIBE_PATH} to every topic the hub serves (for development; give --jwt-secret or --jwks-url in production)`,
    );
    app.realtime(SUBSCRIBE_PATH, { subscribe: [...options.topics], publish: [] });
    return;
  }
  app.use(
    SUBSCRIBE_PATH,
    jwtAuth({
      secret: jwt.secret,
      jwksUrl: jwt.jwksUrl,
      issuer: jwt.issuer,
      audience: jwt.audience,
      algorithms: jwt.algorithms,
      topicsClaim: jwt.topicsClaim,
      queryParam: "access_token",
      subprotocol: "bearer",
    }),
  );
  const access = new HubAccess(options.topics);
  app.realtime(SUBSCRIBE_PATH, {
    subscribe: (topic, ctx) => access.granted(topic, "subscribe", ctx.request),
    publish: (topic, _data, ctx) => access.granted(topic, "publish", ctx.request),
  });
}
