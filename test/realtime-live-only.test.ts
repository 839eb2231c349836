// Issue 22 on the real-time endpoint: a sluice.v1 publish with `store: false` (live-only,
// reply id "") and `echo: false` (not to the sending connection), through sluice/client's
// publish(topic, data, { store, echo }); the client delivers an id "" message without moving
// its cursor or taking the next one for a repeat; over SSE a live-only event has no id line
// and moves no position (one topic and several); an SSE connection's ctx.clientId works as
// an except; non-boolean store/echo and a replay past 10 000 are `invalid`. Two App
// instances on one memory broker, and on one real Redis.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect, type Realtime, RealtimeError } from "../src/client/index.js";
import { App } from "../src/index.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { closeAll, instancePairs, twoApps } from "./support/two-instances.js";
import { waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());

const RULES = { subscribe: ["room", "other"], publish: ["room", "other"] };

/** Serves the endpoint on `app`; resolves its http URL. */
async function serve(app: App, onConnect?: (clientId: string) => void): Promise<string> {
  app.realtime("/rt", {
    ...RULES,
    onConnect: (ctx) => onConnect?.(ctx.clientId),
  });
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return `${url}/rt`;
}

function client(url: string, clients: Realtime[]): Realtime {
  const rt = connect(url.replace(/^http/, "ws"), { WebSocket });
  clients.push(rt);
  return rt;
}

for (const pair of instancePairs(redis, "realtime-live-only")) {
  describe(`the real-time endpoint's live-only and echo on the ${pair.name}`, () => {
    test('sluice/client: store: false resolves "" and reaches both instances without moving cursors; echo: false skips the sender only', async () => {
      const [a, b] = twoApps(pair);
      const clients: Realtime[] = [];
      try {
        const urlB = await serve(b);
        const c1 = client(await serve(a), clients);
        const c2 = client(urlB, clients);
        const got1: { id: string; data: unknown }[] = [];
        const got2: { id: string; data: unknown }[] = [];
        const sub1 = c1.subscribe("room", {}, ({ id, data }) => got1.push({ id, data }));
        const sub2 = c2.subscribe("room", {}, ({ id, data }) => got2.push({ id, data }));
        await within(Promise.all([sub1.ready, sub2.ready]), "both subscriptions");

        const s1 = await c1.publish("room", "s1");
        await waitFor(() => got2.length === 1, "s1 at c2", 10_000);
        assert.equal(await c1.publish("room", "typing 1", { store: false }), "");
        assert.equal(await c2.publish("room", "typing 2", { store: false }), "");
        const s2 = await c2.publish("room", "s2 (not echoed)", { echo: false });
        assert.notEqual(s2, "", "echo: false is still stored");
        assert.equal(await c1.publish("room", "typing 3", { store: false, echo: false }), "");
        const s3 = await a.publish("room", "s3");
        await waitFor(() => got1.at(-1)?.data === "s3", "s3 at c1", 10_000);
        await waitFor(() => got2.at(-1)?.data === "s3", "s3 at c2", 10_000);

        assert.deepEqual(got1, [
          { id: s1, data: "s1" },
          { id: "", data: "typing 1" },
          { id: "", data: "typing 2" },
          { id: s2, data: "s2 (not echoed)" },
          { id: s3, data: "s3" },
        ]);
        assert.deepEqual(got2, [
          { id: s1, data: "s1" },
          { id: "", data: "typing 1" },
          { id: "", data: "typing 2" },
          { id: "", data: "typing 3" },
          { id: s3, data: "s3" },
        ]);
        assert.equal(sub1.cursor, s3);
        assert.equal(sub2.cursor, s3);
        // Between two stored messages, the cursor stays on the stored one.
        await c1.publish("room", "typing 4", { store: false });
        await waitFor(() => got2.at(-1)?.data === "typing 4", "typing 4 at c2", 10_000);
        assert.equal(sub2.cursor, s3, "a live-only message moves no cursor");

        // A replay never holds them.
        const replayed: unknown[] = [];
        const sub3 = client(urlB, clients).subscribe("room", { replay: 10 }, ({ data }) =>
          replayed.push(data),
        );
        await within(sub3.ready, "the replaying subscription");
        await waitFor(() => replayed.length === 3, "the replay", 10_000);
        assert.deepEqual(replayed, ["s1", "s2 (not echoed)", "s3"]);
      } finally {
        for (const rt of clients) rt.close();
        await closeAll([a, b]);
      }
    });

    test("over SSE: a live-only event has no id line and moves no position, with one topic and with two; the SSE connection's client id is an except", async () => {
      const [a, b] = twoApps(pair);
      const sseClientIds: string[] = [];
      try {
        await serve(a);
        const url = await serve(b, (clientId) => sseClientIds.push(clientId));
        const one = new SseClient(`${url}?topic=room`);
        const two = new SseClient(`${url}?topic=room&topic=other`);
        await waitFor(() => sseClientIds.length === 2, "both SSE connections", 10_000);
        // Both have sent their opening position, so both follow the topics.
        await waitFor(
          () => one.parser.lastEventId !== "" && two.parser.lastEventId !== "",
          "the opening positions",
          10_000,
        );
        const openingTwo = two.parser.lastEventId;
        const s1 = await a.publish("room", "s1");
        await a.publish("room", "typing", { store: false });
        await a.publish("room", "not to one", { store: false, except: sseClientIds[0] });
        await a.publish("other", "o-typing", { store: false });
        const s2 = await a.publish("room", "s2");
        await one.waitForEvents(3, 10_000);
        await two.waitForEvents(5, 10_000);
        const seen = (client: SseClient) =>
          client.events.map(({ id, data }) => ({
            id,
            data: (JSON.parse(data) as { data: unknown }).data,
          }));
        assert.deepEqual(seen(one), [
          { id: s1, data: "s1" },
          { id: undefined, data: "typing" },
          { id: s2, data: "s2" },
        ]);
        assert.equal(JSON.parse(one.events[1]?.data ?? "").id, "", 'its data\'s id is ""');
        assert.equal(one.parser.lastEventId, s2);
        const ids = two.events.map((event) => event.id);
        assert.deepEqual(
          ids.map((id) => id === undefined),
          [false, true, true, true, false],
          "only the stored ones carry a position",
        );
        const otherCursor = openingTwo.split(",")[1];
        assert.equal(ids[0], `${encodeURIComponent(s1)},${otherCursor}`);
        assert.equal(ids[4], `${encodeURIComponent(s2)},${otherCursor}`, "o-typing moved nothing");
        one.close();
        two.close();
      } finally {
        await closeAll([a, b]);
      }
    });
  });
}

describe("the real-time endpoint: bad store, echo and replay", () => {
  test("store or echo not a boolean, or a replay past 10 000, is an `invalid` reply saying what is accepted", async () => {
    const app = new App({ logger: false });
    const clients: Realtime[] = [];
    try {
      const url = await serve(app);
      const peer = await RealtimePeer.connect(url.replace(/^http/, "ws"));
      for (const [field, value] of [
        ["store", "false"],
        ["store", 0],
        ["echo", null],
        ["echo", "no"],
      ] as const) {
        const reply = await peer.request({
          type: "publish",
          topic: "room",
          data: 1,
          [field]: value,
        });
        assert.equal(reply.ok, false, `${field}: ${JSON.stringify(value)}`);
        assert.deepEqual(reply.error, { code: "invalid", message: `${field} must be a boolean` });
      }
      const past = await peer.request({ type: "subscribe", topic: "room", replay: 10_001 });
      assert.deepEqual(past.error, {
        code: "invalid",
        message: "replay must be a whole number from 1 to 10000",
      });
      const atCap = await peer.request({ type: "subscribe", topic: "room", replay: 10_000 });
      assert.equal(atCap.ok, true);
      assert.deepEqual(await app.history("room"), [], "nothing was published");
      peer.ws.close();

      const rt = client(url, clients);
      await assert.rejects(
        rt.publish("room", 1, { store: "no" as unknown as boolean }),
        (error: unknown) =>
          error instanceof RealtimeError &&
          error.code === "invalid" &&
          /store must be a boolean/.test(error.message),
      );
    } finally {
      for (const rt of clients) rt.close();
      await app.close();
    }
  });
});
