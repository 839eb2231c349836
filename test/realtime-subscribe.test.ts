/*
 * app.realtime() over WebSocket, subscribing: positions, replay, since, reset on trimmed
 * history, resuming after a reconnect with nothing lost or repeated, unsubscribe.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type App, memoryBroker } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { sleep } from "./support/wait.js";

let app: App;
let url: string;

before(async () => {
  app = quietApp({ broker: memoryBroker({ history: 3 }) });
  app.realtime("/rt", { subscribe: ["news", "chat:*", "t:*"], maxSubscriptions: 3 });
  const listening = await app.listen({ port: 0, host: "127.0.0.1" });
  url = `${listening.url.replace(/^http/, "ws")}/rt`;
});
after(() => app.close());

const data = (frames: Frame[]) => frames.map((frame) => frame.data);

describe("app.realtime subscribe", () => {
  test("the welcome comes first, with the client's id, the heartbeat and the frame rate", async () => {
    const peer = await RealtimePeer.connect(url);
    await peer.request({ type: "call", method: "none" });
    assert.deepEqual(Object.keys(peer.frames[0] ?? {}).sort(), [
      "clientId",
      "expiresIn",
      "heartbeat",
      "messageRate",
      "protocol",
      "type",
    ]);
    assert.equal(peer.frames[0]?.type, "welcome");
    assert.equal(peer.frames[0]?.protocol, "sluice.v1");
    assert.equal(peer.frames[0]?.heartbeat, 30_000);
    assert.deepEqual(peer.frames[0]?.messageRate, { messages: 200, perMs: 1000 });
    assert.equal(peer.frames[0]?.expiresIn, null, "no credentials that expire");
    await peer.close();
  });

  test("a plain subscribe replies the head as its position, then live messages follow", async () => {
    await app.publish("chat:a", "before");
    const peer = await RealtimePeer.connect(url);
    const reply = await peer.request({ type: "subscribe", topic: "chat:a" });
    assert.equal(reply.ok, true);
    const { position } = reply.result as { position: string };
    assert.equal(position, (await app.history("chat:a", { limit: 1 }))[0]?.id);
    const id = await app.publish("chat:a", { text: "hi" }, { event: "said" });
    const [message] = await peer.waitForMessages("chat:a", 1);
    assert.deepEqual(message, {
      type: "message",
      topic: "chat:a",
      id,
      event: "said",
      data: { text: "hi" },
    });
    await peer.close();
  });

  test("replay gives the latest N first, position null, then live, the reply before them", async () => {
    for (const value of [1, 2, 3]) await app.publish("t:replay", value);
    const peer = await RealtimePeer.connect(url);
    const reply = await peer.request({ type: "subscribe", topic: "t:replay", replay: 2 });
    assert.deepEqual(reply.result, { position: null });
    await app.publish("t:replay", 4);
    const frames = await peer.waitForMessages("t:replay", 3);
    assert.deepEqual(data(frames), [2, 3, 4]);
    const replyAt = peer.frames.indexOf(reply);
    assert.ok(
      peer.frames.indexOf(frames[0] as Frame) > replyAt,
      "the reply came before the messages",
    );
    await peer.close();
  });

  test("since resumes after the id: the missed ones, then live", async () => {
    const first = await app.publish("t:since", "a");
    await app.publish("t:since", "b");
    const peer = await RealtimePeer.connect(url);
    const reply = await peer.request({
      type: "subscribe",
      topic: "t:since",
      since: first,
      replay: 5,
    });
    assert.deepEqual(reply.result, { position: first }, "since wins over replay");
    await app.publish("t:since", "c");
    assert.deepEqual(data(await peer.waitForMessages("t:since", 2)), ["b", "c"]);
    await peer.close();
  });

  test("a since older than the history (3 kept) gives a reset with the head, then live", async () => {
    const old = await app.publish("t:trim", 0);
    for (const value of [1, 2, 3, 4]) await app.publish("t:trim", value);
    const head = (await app.history("t:trim", { limit: 1 }))[0]?.id;
    const peer = await RealtimePeer.connect(url);
    await peer.request({ type: "subscribe", topic: "t:trim", since: old });
    const [reset] = await peer.waitForMessages("t:trim", 1);
    assert.deepEqual(reset, {
      type: "reset",
      topic: "t:trim",
      id: head,
      reason: "trimmed",
      since: old,
    });
    await app.publish("t:trim", 5);
    const frames = await peer.waitForMessages("t:trim", 2);
    assert.equal(frames[1]?.data, 5);
    await peer.close();
  });

  test("an id no log gave gives a reset with reason unknown", async () => {
    const peer = await RealtimePeer.connect(url);
    await peer.request({ type: "subscribe", topic: "t:unknown", since: "12-34" });
    const [reset] = await peer.waitForMessages("t:unknown", 1);
    assert.equal(reset?.type, "reset");
    assert.equal(reset?.reason, "unknown");
    await peer.close();
  });

  test("resuming from the cursor after a reconnect, with publishes all along: each message once, in order", async (t) => {
    // History enough for the rounds: this one is about the seams, not trimming.
    const app = quietApp();
    app.realtime("/rt", { subscribe: ["chat:*"] });
    const listening = await app.listen({ port: 0, host: "127.0.0.1" });
    t.after(() => app.close());
    const url = `${listening.url.replace(/^http/, "ws")}/rt`;
    let next = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await app.publish("chat:resume", next++);
        await sleep(1);
      }
    })();
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let round = 0; round < 4; round++) {
      const peer = await RealtimePeer.connect(url);
      const reply = await peer.request(
        cursor === null
          ? { type: "subscribe", topic: "chat:resume" }
          : { type: "subscribe", topic: "chat:resume", since: cursor },
      );
      cursor = (reply.result as { position: string }).position;
      await sleep(30);
      for (const frame of peer.messagesOf("chat:resume")) {
        assert.equal(frame.type, "message");
        seen.push(frame.data as number);
        cursor = frame.id as string;
      }
      peer.ws.terminate();
      await peer.closed;
    }
    publishing = false;
    await publisher;
    assert.ok(seen.length > 10, `messages arrived: ${seen.length}`);
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => (seen[0] as number) + i),
    );
  });

  test("unsubscribe: an ok reply, then nothing more of the topic; subscribing twice changes nothing", async () => {
    const peer = await RealtimePeer.connect(url);
    await peer.request({ type: "subscribe", topic: "news" });
    const again = await peer.request({ type: "subscribe", topic: "news" });
    assert.deepEqual(again.result, { position: null });
    await app.publish("news", 1);
    assert.equal((await peer.waitForMessages("news", 1)).length, 1);
    const reply = await peer.request({ type: "unsubscribe", topic: "news" });
    assert.deepEqual([reply.ok, reply.result], [true, null]);
    assert.equal((await peer.request({ type: "unsubscribe", topic: "never" })).ok, true);
    await app.publish("news", 2);
    await peer.request({ type: "call", method: "ping" });
    await sleep(50);
    assert.deepEqual(data(peer.messagesOf("news")), [1]);
    await peer.close();
    await sleep(20);
    assert.equal(app.topicSubscribers, 0, "nothing left subscribed");
  });

  test("subscriptions beyond maxSubscriptions are refused, the connection stays", async () => {
    const peer = await RealtimePeer.connect(url);
    for (const topic of ["t:1", "t:2", "t:3"]) {
      assert.equal((await peer.request({ type: "subscribe", topic })).ok, true);
    }
    const refused = await peer.request({ type: "subscribe", topic: "t:4" });
    assert.equal((refused.error as { code: string }).code, "forbidden");
    assert.match((refused.error as { message: string }).message, /At most 3 subscriptions/);
    await peer.request({ type: "unsubscribe", topic: "t:1" });
    assert.equal((await peer.request({ type: "subscribe", topic: "t:4" })).ok, true);
    await peer.close();
  });
});
