// The rooms app on Redis: run as many copies as you like behind a load balancer; a message
// published on any of them reaches subscribers on all of them, and history (for replay on
// reconnect) is shared. Run it: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/guide/scale-out.ts`
import { App, type AppOptions } from "../../src/index.js";
import { redisBroker } from "../../src/redis/index.js";
import { runIfMain } from "../run-if-main.js";
import { createRoomsApp } from "./topics.js";

export function createScaledRoomsApp(
  redisUrl = process.env.REDIS_URL,
  options: AppOptions = {},
): App {
  const broker = redisBroker({ url: redisUrl, history: 10_000 }); // needs `npm install ioredis`
  return createRoomsApp(new App({ ...options, broker }));
}

await runIfMain(import.meta.url, () => createScaledRoomsApp());
