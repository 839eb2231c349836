// `npx tsx examples/live/main.ts`: the live demo on http://localhost:3000 (PORT, HOST to
// change). With REDIS_URL set, topics live in Redis, so several processes (on other ports)
// share the rooms, the dashboard and the sessions (a cookie from one is good on all: cookies
// do not care about the port); give them the same SLUICE_SECRET so that a `?token=` minted
// by one is good on all too.
import type { Broker } from "sluice";
import { createLiveApp } from "./app.js";

let broker: Broker | undefined;
if (process.env.REDIS_URL) {
  const { redisBroker } = await import("sluice/redis"); // loads ioredis only now
  broker = redisBroker({ url: process.env.REDIS_URL, history: 10_000 });
}

const { app } = createLiveApp({ broker });
if (broker && !process.env.SLUICE_SECRET)
  app.logger.warn("REDIS_URL without SLUICE_SECRET: a token is good only where it was minted");
const server = await app.listen({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST,
  handleSignals: true, // SIGINT/SIGTERM: close gracefully (which also stops the metrics)
});
app.logger.info(`open ${server.url}/ in a browser${broker ? " (topics on Redis)" : ""}`);
