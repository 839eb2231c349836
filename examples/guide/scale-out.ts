// The rooms app on Redis: run as many copies as you like behind a load balancer; a message
// published on any of them reaches subscribers on all of them, and history (for replay on
// reconnect) is shared. Run it: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/guide/scale-out.ts`
import { pathToFileURL } from "node:url";
import { App, type AppOptions } from "sluice";
import { redisBroker } from "sluice/redis";
import { createRoomsApp } from "./topics.js";

export function createScaledRoomsApp(
  redisUrl = process.env.REDIS_URL,
  options: AppOptions = {},
): App {
  const broker = redisBroker({ url: redisUrl, history: 10_000 }); // needs `npm install ioredis`
  return createRoomsApp(new App({ ...options, broker }));
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createScaledRoomsApp().listen({ handleSignals: true });
}
