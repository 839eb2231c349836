// Presence on app.realtime(): a subscribe frame's `presence` joins with the info the
// endpoint's `presence` option decides (null without one: the client's offer is never
// published unless the app says so), `joinLeave` brings join/leave frames, a `presence`
// frame lists the members of a topic the client may subscribe to; the client's
// subscribe({ presence, joinLeave }), its join/leave events, sub.presence(), and the join
// again after a reconnect.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect, type PresenceMember, type Realtime } from "../src/client/index.js";
import {
  type App,
  bearerAuth,
  HttpError,
  isPresenceEvent,
  memoryBroker,
  type SluiceWebSocket,
} from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { eventually, waitFor, within } from "./support/wait.js";

const users: Record<string, { name: string }> = { ada: { name: "Ada" }, bob: { name: "Bob" } };

/** Frames of a type and topic a peer received so far. */
function framesOf(peer: RealtimePeer, type: string, topic: string): Frame[] {
  return peer.frames.filter((frame) => frame.type === type && frame.topic === topic);
}

describe("presence on app.realtime()", () => {
  let app: App;
  let base: string;
  const sockets: SluiceWebSocket[] = [];
  const peers: RealtimePeer[] = [];

  async function peer(path: string, user = "ada"): Promise<RealtimePeer> {
    const opened = await RealtimePeer.connect(`${base}${path}`, {
      protocols: ["sluice.v1", "bearer", user],
    });
    peers.push(opened);
    await waitFor(() => opened.frames.some((frame) => frame.type === "welcome"), "the welcome");
    return opened;
  }

  before(async () => {
    app = quietApp({ broker: memoryBroker() });
    app.use(bearerAuth({ subprotocol: "bearer", verify: (token) => users[token] }));
    // No presence option: a client's offer joins as null.
    app.realtime("/plain", { subscribe: ["room:*"] });
    app.realtime("/named", {
      subscribe: ["room:*", "trusting:*"],
      onConnect: (ctx) => {
        if (ctx.socket) sockets.push(ctx.socket);
      },
      presence: (ctx, topic, offered) => {
        if (topic === "room:closed") return undefined;
        if (topic === "room:teapot") throw new HttpError(403, "no presence for you");
        if (topic.startsWith("trusting:")) return offered;
        return { name: (ctx.request.state as { auth: { name: string } }).auth.name };
      },
    });
    const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
    base = `ws://127.0.0.1:${port}`;
  });

  after(async () => {
    for (const opened of peers) opened.ws.terminate();
    await app.close();
  });

  test("without the presence option a client's offer is published as null", async () => {
    const watcher = await peer("/plain", "bob");
    const watching = await watcher.request({ type: "subscribe", topic: "room:1", joinLeave: true });
    assert.equal(watching.ok, true);
    const ada = await peer("/plain");
    const reply = await ada.request({
      type: "subscribe",
      topic: "room:1",
      presence: { name: "I am the admin" },
    });
    assert.equal(reply.ok, true);
    await waitFor(() => framesOf(watcher, "join", "room:1").length === 1, "the join frame");
    const [join] = framesOf(watcher, "join", "room:1");
    const member = join?.member as PresenceMember;
    assert.equal(member.info, null);
    assert.equal(typeof member.clientId, "string");
    assert.equal(framesOf(ada, "join", "room:1").length, 0, "ada did not ask for joinLeave");
    const listed = await watcher.request({ type: "presence", topic: "room:1" });
    assert.deepEqual(listed.result, { members: [member] });

    await ada.request({ type: "unsubscribe", topic: "room:1" });
    await waitFor(() => framesOf(watcher, "leave", "room:1").length === 1, "the leave frame");
    assert.deepEqual(framesOf(watcher, "leave", "room:1")[0]?.member, member);
    assert.deepEqual((await app.presence("room:1")).length, 0);
  });

  test("with the presence option the info is what it returns; undefined or a thrown HttpError refuses", async () => {
    const ada = await peer("/named");
    const reply = await ada.request({
      type: "subscribe",
      topic: "room:2",
      presence: { name: "forged" },
      joinLeave: true,
    });
    assert.equal(reply.ok, true);
    await waitFor(() => framesOf(ada, "join", "room:2").length === 1, "its own join");
    assert.deepEqual(
      (framesOf(ada, "join", "room:2")[0]?.member as PresenceMember | undefined)?.info,
      {
        name: "Ada",
      },
    );
    assert.deepEqual(
      (await app.presence("room:2")).map((member) => member.info),
      [{ name: "Ada" }],
    );
    const trusted = await ada.request({ type: "subscribe", topic: "trusting:1", presence: 7 });
    assert.equal(trusted.ok, true);
    assert.deepEqual(
      (await app.presence("trusting:1")).map((member) => member.info),
      [7],
    );

    const refused = await ada.request({ type: "subscribe", topic: "room:closed", presence: true });
    assert.equal((refused.error as { code: string }).code, "forbidden");
    const teapot = await ada.request({ type: "subscribe", topic: "room:teapot", presence: true });
    assert.deepEqual(teapot.error, { code: "forbidden", message: "no presence for you" });
    assert.deepEqual(await app.presence("room:closed"), []);

    const tooBig = await ada.request({
      type: "subscribe",
      topic: "trusting:2",
      presence: { bio: "x".repeat(5000) },
    });
    assert.equal((tooBig.error as { code: string }).code, "invalid");
    assert.match((tooBig.error as { message: string }).message, /over the 4096 allowed/);
    assert.deepEqual(await app.presence("trusting:2"), []);
  });

  test("bad fields are invalid; presence of a forbidden topic is forbidden; closing the socket leaves", async () => {
    const ada = await peer("/named");
    const bad = await ada.request({ type: "subscribe", topic: "room:3", joinLeave: "yes" });
    assert.deepEqual(bad.error, { code: "invalid", message: "joinLeave must be a boolean" });
    const noTopic = await ada.request({ type: "presence" });
    assert.equal((noTopic.error as { code: string }).code, "invalid");
    const forbidden = await ada.request({ type: "presence", topic: "secret" });
    assert.equal((forbidden.error as { code: string }).code, "forbidden");

    assert.equal(
      (await ada.request({ type: "subscribe", topic: "room:3", presence: true })).ok,
      true,
    );
    assert.equal((await app.presence("room:3")).length, 1);
    await ada.close();
    await eventually(async () => (await app.presence("room:3")).length === 0, "the leave");
  });

  test("the client joins with presence, gets join/leave events, lists members, and joins again after a reconnect", async () => {
    const clients: Realtime[] = [];
    const client = (user: string) => {
      const rt = connect(`${base}/named`, {
        WebSocket,
        token: () => user,
        reconnect: { initialDelay: 20, maxDelay: 100 },
      });
      clients.push(rt);
      return rt;
    };
    try {
      const bob = client("bob");
      const seen: string[] = [];
      const watching = bob.subscribe("room:4", { joinLeave: true });
      watching.on("join", (member) => seen.push(`join ${(member.info as { name: string }).name}`));
      watching.on("leave", (member) =>
        seen.push(`leave ${(member.info as { name: string }).name}`),
      );
      await watching.ready;
      const ada = client("ada");
      const sub = ada.subscribe("room:4", { presence: true });
      await sub.ready;
      await waitFor(() => seen.length === 1, "bob sees ada join");
      assert.deepEqual(seen, ["join Ada"]);
      const members = await sub.presence();
      assert.deepEqual(
        members.map((member) => member.info),
        [{ name: "Ada" }],
      );
      assert.equal(members[0]?.clientId, ada.clientId);

      // The server restarts ada's connection: she leaves, and joins again when it is back.
      const adaSocket = sockets.find((socket) => socket.id === ada.clientId);
      assert.ok(adaSocket);
      adaSocket.close(1012, "restarting");
      await waitFor(() => seen.length === 3, "leave and join again", 3000);
      assert.deepEqual(seen, ["join Ada", "leave Ada", "join Ada"]);
      const again = await within(sub.presence(), "the presence after the reconnect");
      assert.equal(again.length, 1);
      assert.equal(again[0]?.clientId, ada.clientId, "the member is the new connection");
      await sub.unsubscribe();
      await waitFor(() => seen.length === 4, "the leave after unsubscribe");
    } finally {
      for (const rt of clients) rt.close();
    }
  });
  test("a lagging iterator of a subscription in presence pauses without leaving: no leave, every stored message once, in order", async () => {
    const seen: string[] = [];
    const watcher = app.subscribe("room:lag", { joinLeave: true });
    void (async () => {
      for await (const event of watcher) if (isPresenceEvent(event)) seen.push(event.event);
    })();
    const rt = connect(`${base}/named`, {
      WebSocket: WebSocket as never,
      token: () => "ada",
    });
    try {
      const sub = rt.subscribe<number>("room:lag", { presence: true, joinLeave: true, buffer: 4 });
      const joins: string[] = [];
      sub.on("join", (member) => joins.push(member.clientId));
      await sub.ready;
      await waitFor(() => seen.length === 1, "the join");
      // The iterator is not read yet: 30 stored and some live-only messages overflow it.
      for (let n = 1; n <= 30; n++) {
        await app.publish("room:lag", n);
        if (n % 10 === 0) await app.publish("room:lag", -n, { store: false });
      }
      await waitFor(() => sub.cursor !== null, "the first messages");
      // A member joins while the subscription is paused: its join event still arrives.
      const bob = await peer("/named", "bob");
      await bob.request({ type: "subscribe", topic: "room:lag", presence: true });
      await waitFor(() => joins.length === 2, "bob's join, while paused");
      const got: number[] = [];
      // Read by hand: leaving a for await loop would unsubscribe (a leave).
      const messages = sub[Symbol.asyncIterator]();
      while (got.length < 30) {
        const { value } = await within(messages.next(), "the next message");
        if (value.data > 0) got.push(value.data);
        if (got.length % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.deepEqual(
        got,
        Array.from({ length: 30 }, (_, i) => i + 1),
        "every stored message once, in order",
      );
      assert.deepEqual(seen, ["join", "join"], "ada never left (nor joined again)");
      const members = await app.presence("room:lag");
      assert.equal(members.length, 2);
      assert.ok(members.some((member) => member.clientId === rt.clientId));
    } finally {
      rt.close();
      watcher.end();
    }
  });
});

describe("presence and a subscribe rule that changes its mind", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let app: App;
  let url: string;
  const banned = new Set<string>();
  let slowFor: string | undefined;

  before(async () => {
    app = quietApp({ broker: memoryBroker() });
    app.realtime("/rt", {
      // An async rule (a database lookup, say) that can ban a connection or be slow for it.
      subscribe: async (_topic, ctx) => {
        if (ctx.clientId === slowFor) await sleep(300);
        return !banned.has(ctx.clientId);
      },
      presence: (ctx) => ({ id: ctx.clientId }),
    });
    const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${port}/rt`;
  });

  after(() => app.close());

  test("a subscribe again to a followed topic is checked: refused, the topic is unfollowed and its membership left", async () => {
    for (const since of [undefined, "restart"]) {
      const peer = await RealtimePeer.connect(url, { protocols: ["sluice.v1"] });
      await waitFor(() => peer.frames.some((frame) => frame.type === "welcome"), "the welcome");
      const clientId = String(peer.frames[0]?.clientId);
      const topic = `room:ban-${since ?? "plain"}`;
      const first = await peer.request({ type: "subscribe", topic, presence: true });
      assert.equal(first.ok, true);
      const position = (first.result as { position: string }).position;
      assert.equal((await app.presence(topic)).length, 1);
      banned.add(clientId);
      const again = await peer.request({
        type: "subscribe",
        topic,
        ...(since ? { since: position } : {}),
      });
      assert.equal((again.error as { code: string } | undefined)?.code, "forbidden");
      await eventually(async () => (await app.presence(topic)).length === 0, "the member left");
      await app.publish(topic, "after the ban");
      await sleep(50);
      assert.deepEqual(framesOf(peer, "message", topic), [], "nothing delivered after the refusal");
      await peer.close();
    }
  });

  test("join events that come while a paused subscription restarts are not lost", async () => {
    const a = connect(url, { WebSocket: WebSocket as never });
    const b = connect(url, { WebSocket: WebSocket as never });
    try {
      const sub = a.subscribe<{ i: number }>("room:slow", {
        presence: true,
        joinLeave: true,
        buffer: 2,
      });
      const joins: string[] = [];
      sub.on("join", (member) => joins.push(member.clientId));
      await sub.ready;
      const messages = sub[Symbol.asyncIterator]();
      for (let i = 0; i < 5; i++) await app.publish("room:slow", { i });
      await waitFor(() => sub.cursor !== null, "the first messages");
      await sleep(50); // paused: the buffer is full
      slowFor = a.clientId;
      // Taking one resumes (the buffer is half empty): the restart's rule check takes 300 ms.
      const got = [(await messages.next()).value.data.i];
      await sleep(50);
      const joined = b.subscribe("room:slow", { presence: true });
      await joined.ready;
      await waitFor(() => joins.includes(String(b.clientId)), "b's join, during the restart", 2000);
      slowFor = undefined;
      while (got.length < 5) got.push((await within(messages.next(), "a message")).value.data.i);
      assert.deepEqual(got, [0, 1, 2, 3, 4], "every message once, in order");
    } finally {
      a.close();
      b.close();
    }
  });
});
