// redisBroker's `redis` option is typed by sluice (RedisClientOptions), so that its published
// types need nothing of ioredis's; options written with ioredis's own type must still be taken
// (`npm run typecheck` checks that), options sluice does not name among them, and reach ioredis.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RedisOptions } from "ioredis";
import { useRedisBed } from "./support/redis-bed.js";

const redis = useRedisBed("client-options");

/** CLIENT LIST's line for the connection named `name`. */
async function connection(name: string): Promise<string> {
  const clients = String(await redis.admin.client("LIST"));
  const line = clients.split("\n").find((text) => text.includes(` name=${name} `));
  assert.ok(line, `a connection named ${name} in:\n${clients}`);
  return line;
}

describe("redisBroker's redis option", () => {
  test("takes a value typed with ioredis's RedisOptions, and ioredis gets its options", async () => {
    // keepAlive is one of the options RedisClientOptions does not name.
    const options: RedisOptions = { connectionName: "typed", db: 3, keepAlive: 1000 };
    const broker = redis.makeBroker({ prefix: redis.freshPrefix(), redis: options });
    await broker.publish("t", undefined, "{}");
    assert.match(await connection("typed:commands"), / db=3 /);
  });
});
