import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, type TestContext, test } from "node:test";
import { WebSocket } from "ws";
import {
  createLiveApp,
  type LiveAppOptions,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
} from "../examples/live/app.js";
import { Signer, TOKEN_TTL_MS } from "../examples/live/auth.js";
import { type ChatMessage, HISTORY_ON_JOIN, ROOMS, roomTopic } from "../examples/live/chat.js";
import { asServerReport, CLUSTER_TOPIC } from "../examples/live/cluster.js";
import { MAX_LAST_EVENT_ID_BYTES } from "../examples/live/dashboard.js";
import {
  DEFAULT_EXPORT_ROWS,
  MAX_EXPORT_ROWS,
  MAX_EXPORTS_PER_IP,
} from "../examples/live/export.js";
import {
  type PresenceMember,
  type Realtime,
  RealtimeError,
  type ResetInfo,
} from "../src/client/index.js";
import type { App } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { type TestClient as Client, TestClient } from "../src/testing/index.js";
import { startExample } from "./support/example-process.js";
import {
  type Followed,
  follow,
  liveConnect,
  rawRealtime,
  realtimeUrl,
  replyTo,
  upgradeOutcome,
} from "./support/live-realtime.js";
import { RedisServer } from "./support/redis-server.js";
import { eventually, sleep, waitFor, within } from "./support/wait.js";

const SECRET = "test-secret-0123456789abcdef";
const TICK_MS = 50;

async function startLive(t: TestContext, options: LiveAppOptions = {}) {
  const live = createLiveApp({ tickMs: TICK_MS, secret: SECRET, logger: false, ...options });
  const client = await TestClient.start(live.app, { closeTimeout: 2000 });
  t.after(async () => {
    live.stop();
    await client.close();
  });
  return { live, client };
}

/** Signs in and returns the Cookie header to send from then on. */
async function signIn(client: Client, name: string): Promise<string> {
  const res = await client.post("/api/signin", { json: { name } });
  assert.equal(res.statusCode, 200, res.text());
  const setCookie = res.headers["set-cookie"]?.[0] ?? "";
  return setCookie.split(";")[0];
}

/** A signed-in visitor in a chat room: its client, the room's messages and who is in it. */
interface Member {
  rt: Realtime;
  /** The room's messages (chat messages, and typing notices with the event "typing"). */
  messages: Followed<ChatMessage>;
  /** Who is in the room as this client knows it, as the page keeps it: client id -> name. */
  members: Map<string, string>;
  /** The presence events this client got, in order. */
  events: { type: "join" | "leave"; member: PresenceMember }[];
  /** Says something in the room; resolves the stored message's id. */
  say(text: string): Promise<string>;
}

const nameOf = (member: PresenceMember) => (member.info as { name: string }).name;

/**
 * Enters `room` as the page does: one subscribe with the latest messages, a presence (the
 * server decides the info: `offer` is what a page could try to pass off) and join/leave
 * events; then the list of members, with the events that came while it was read applied on top.
 */
async function member(
  t: TestContext,
  client: Client,
  cookie: string,
  name: string,
  room: string,
  offer: unknown = true,
): Promise<Member> {
  const rt = liveConnect(t, client, cookie);
  const messages = follow<ChatMessage>(rt, roomTopic(room), {
    replay: HISTORY_ON_JOIN,
    presence: offer,
    joinLeave: true,
  });
  const members = new Map<string, string>();
  const events: Member["events"] = [];
  const apply = ({ type, member }: Member["events"][number]) => {
    if (type === "join") members.set(member.clientId, nameOf(member));
    else members.delete(member.clientId);
  };
  for (const type of ["join", "leave"] as const) {
    messages.subscription.on(type, (member) => {
      events.push({ type, member });
      apply({ type, member });
    });
  }
  await within(messages.subscription.ready, `${name} entering ${room}`);
  const before = events.length;
  const list = await within(messages.subscription.presence(), `who is in ${room}`);
  members.clear();
  for (const one of list) members.set(one.clientId, nameOf(one));
  for (const event of events.slice(before)) apply(event);
  const say = (text: string) =>
    within(rt.publish(roomTopic(room), { name, text }, { event: "message" }), `"${text}" stored`);
  return { rt, messages, members, events, say };
}

/** The names in `one`'s room, each once (two tabs of one person are two members). */
const namesIn = (one: Member) => [...new Set(one.members.values())].sort();

/** The names in `room` as the server lists them (on every process sharing its broker). */
async function namesOnServer(app: App, room: string): Promise<string[]> {
  return [...new Set((await app.presence(roomTopic(room))).map(nameOf))].sort();
}

/** Waits until `one` knows that exactly `names` are in its room. */
function present(one: Member, names: string[]): Promise<unknown> {
  const expected = JSON.stringify(names);
  return waitFor(
    () => JSON.stringify(namesIn(one)) === expected,
    `${expected} present (${JSON.stringify(namesIn(one))} now)`,
    5000,
  );
}

describe("examples/live: sign-in", () => {
  test("sign-in sets an HttpOnly cookie with a random session id that identifies the visitor", async (t) => {
    const { client } = await startLive(t);
    const res = await client.post("/api/signin", { json: { name: "  Ada " } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ name: string }>().name, "Ada");
    const setCookie = String(res.headers["set-cookie"]);
    assert.match(
      setCookie,
      /^sluice_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/,
    );
    const again = await client.post("/api/signin", { json: { name: "Ada" } });
    assert.notEqual(String(again.headers["set-cookie"]), setCookie, "a new session each time");

    const cookie = setCookie.split(";")[0];
    assert.deepEqual((await client.get("/api/me", { headers: { cookie } })).json(), {
      name: "Ada",
    });
    // A cross-site <form> posts urlencoded: refused, the session stays.
    const forged = await client.post("/api/signout", {
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    assert.equal(forged.statusCode, 415);
    assert.equal(forged.headers["set-cookie"], undefined);
    assert.equal((await client.get("/api/me", { headers: { cookie } })).statusCode, 200);
    const out = await client.post("/api/signout", { headers: { cookie }, json: {} });
    assert.match(String(out.headers["set-cookie"]), /^sluice_session=; .*Max-Age=0/);
  });

  test("bad names and non-JSON sign-ins are refused", async (t) => {
    const { client } = await startLive(t);
    for (const name of ["", "   ", "x".repeat(25), "<script>", 42, null]) {
      const res = await client.post("/api/signin", { json: { name } });
      assert.equal(res.statusCode, 422, `name ${JSON.stringify(name)}`);
      assert.equal(res.headers["set-cookie"], undefined);
    }
    const form = await client.post("/api/signin", {
      body: "name=ada",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(form.statusCode, 415);
    const broken = await client.post("/api/signin", {
      body: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(broken.statusCode, 400);
  });

  test("no cookie, a made-up or tampered cookie, and bad tokens get 401 on HTTP, SSE and the upgrade", async (t) => {
    const { live, client } = await startLive(t);
    const good = await signIn(client, "ada");
    const id = good.slice("sluice_session=".length);
    const flipped = `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}`;
    const { token } = (await client.get("/api/token", { headers: { cookie: good } })).json<{
      token: string;
    }>();
    const session = new Signer(SECRET).verify(token)!.session;
    const other = new Signer("another-secret-0123456789");
    const mine = new Signer(SECRET);
    const refused: Record<string, string | undefined> = {
      "no credentials": undefined,
      "a made-up session id": `sluice_session=${"x".repeat(43)}`,
      "a tampered session id": `sluice_session=${flipped}`,
      "a truncated session id": `sluice_session=${id.slice(0, -1)}`,
      "the session's key as its id": `sluice_session=${session}`,
      "the token as a cookie": `sluice_session=${token}`,
    };
    const tokens: Record<string, string> = {
      "an expired token": mine.sign(
        { name: "ada", session },
        TOKEN_TTL_MS,
        Date.now() - TOKEN_TTL_MS - 1,
      ),
      "a forged token": other.sign({ name: "ada", session }, TOKEN_TTL_MS),
      "a token for another name": mine.sign({ name: "eve", session }, TOKEN_TTL_MS),
      "a token for no session": mine.sign({ name: "ada", session: "y".repeat(43) }, TOKEN_TTL_MS),
      "the cookie's value as a token": id,
    };

    const attempts = [
      ...Object.entries(refused).map(([what, cookie]) => ({
        what,
        query: "",
        headers: cookie ? { cookie } : {},
      })),
      ...Object.entries(tokens).map(([what, token]) => ({
        what,
        query: `?token=${encodeURIComponent(token)}`,
        headers: {},
      })),
    ];
    for (const { what, query, headers } of attempts) {
      const me = await client.get(`/api/me${query}`, { headers });
      assert.equal(me.statusCode, 401, `/api/me with ${what}`);
      assert.equal(me.json<{ error: string }>().error, "Unauthorized");

      const sse = await client.get(`/api/dashboard${query}`, {
        headers: { ...headers, accept: "text/event-stream" },
      });
      assert.equal(sse.statusCode, 401, `SSE with ${what}`);

      // The handshake completes and the socket closes with 4000 + 401 (docs/protocol.md): a
      // browser could not read a refused upgrade's status, and a client must not retry.
      const upgrade = await upgradeOutcome(client, `/rt${query}`, headers);
      assert.equal(upgrade, 4401, `the upgrade with ${what} is refused`);
      await waitFor(() => live.app.connections.websocket === 0, "no socket left open");

      const exported = await client.get(`/export.ndjson?rows=1${query.replace("?", "&")}`, {
        headers,
      });
      assert.equal(exported.statusCode, 401, `the export with ${what}`);
    }

    // The same requests with good credentials go through: the 401s above were about them.
    const me = await client.get("/api/me", { headers: { cookie: good } });
    assert.deepEqual(me.json(), { name: "ada" });
    const fresh = mine.sign({ name: "ada", session }, TOKEN_TTL_MS);
    assert.equal((await client.get(`/api/me?token=${fresh}`)).statusCode, 200);
    const sse = client.events(`/api/dashboard?token=${fresh}`);
    assert.equal((await sse.response).statusCode, 200);
    await sse.close();
    assert.equal(await upgradeOutcome(client, `/rt?token=${fresh}`, {}), 101);
  });

  test("GET /api/token mints a short-lived token for the cookie holder, usable in the query", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "bob");
    const minted = await client.get("/api/token", { headers: { cookie } });
    assert.equal(minted.statusCode, 200);
    const { token, expiresIn } = minted.json<{ token: string; expiresIn: number }>();
    assert.ok(expiresIn > 0 && expiresIn <= 120, `expiresIn ${expiresIn}`);
    assert.deepEqual((await client.get(`/api/me?token=${token}`)).json(), { name: "bob" });
    const ws = await rawRealtime(client, {}, `?token=${encodeURIComponent(token)}`);
    await ws.sendJson({ type: "call", ref: 1, method: "rooms" });
    assert.deepEqual((await replyTo(ws, 1)).result, ROOMS);
    await ws.close();
    // A token cannot mint the next one: a leaked URL stops working within a minute.
    assert.equal((await client.get(`/api/token?token=${token}`)).statusCode, 401);
  });

  test("a real-time connection from another origin is refused", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    // Closed with 1008 after the handshake (docs/protocol.md), so that a browser sees why.
    const refused = await upgradeOutcome(client, "/rt", { cookie, origin: "http://evil.example" });
    assert.equal(refused, 1008);
    assert.equal(await upgradeOutcome(client, "/rt", { cookie, origin: client.url }), 101);
  });
});

interface Tick {
  seq: number;
  clients: number;
  eventsPerSec: number;
  rssMb: number;
}

describe("examples/live: dashboard", () => {
  test("ticks arrive with increasing ids; a reconnect with Last-Event-ID gets every missed tick", async (t) => {
    const { live, client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const first = client.events("/api/dashboard", { headers: { cookie } });
    const seen = await first.take(4);
    const ticks = seen.map((e) => JSON.parse(e.data) as Tick);
    for (const [i, event] of seen.entries()) {
      assert.equal(event.event, "tick");
      assert.ok(event.id, "every tick has an id");
      if (i > 0) {
        assert.equal(ticks[i].seq, ticks[i - 1].seq + 1, "seq goes up by one");
        assert.notEqual(event.id, seen[i - 1].id);
        assert.ok(
          (await live.app.history("dashboard", { after: seen[i - 1].id })).some(
            (m) => m.id === event.id,
          ),
          "ids are in the topic's order",
        );
      }
    }
    assert.ok(ticks.at(-1)!.clients >= 1, "the open stream is counted");
    assert.ok(ticks.at(-1)!.rssMb > 0);
    assert.equal(typeof ticks.at(-1)!.eventsPerSec, "number");

    // The stream is cut from the server's side; ticks keep coming meanwhile.
    const lastId = seen.at(-1)!.id!;
    const lastSeq = ticks.at(-1)!.seq;
    assert.equal(live.dropEventStreams(), 1);
    await assert.rejects(first.take(1000), "the dropped stream ends");
    await sleep(TICK_MS * 6);

    const resumed = client.events("/api/dashboard", {
      headers: { cookie, "Last-Event-ID": lastId },
    });
    const replayed = (await resumed.take(6)).map((e) => JSON.parse(e.data) as Tick);
    assert.deepEqual(
      replayed.map((tick) => tick.seq),
      [1, 2, 3, 4, 5, 6].map((n) => lastSeq + n),
      "no gap, no repeat",
    );
    await resumed.close();
  });

  test("a new visitor starts with the latest tick, and the page's ?lastEventId= works like the header", async (t) => {
    const { live, client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    // Polled, not slept: a slow machine may need longer for three ticks.
    await eventually(
      async () => (await live.app.history("dashboard", { limit: 3 })).length === 3,
      "three ticks in the log",
      5000,
    );
    live.stop(); // no more live ticks: whatever arrives now is replayed from the log
    await sleep(TICK_MS * 2);
    const log = await live.app.history("dashboard", { limit: 3 });
    assert.equal(log.length, 3);
    const fresh = client.events("/api/dashboard", { headers: { cookie } });
    const [latest] = await within(fresh.take(1), "the latest tick");
    assert.equal(latest.id, log[2].id);
    await fresh.close();
    const query = client.events(`/api/dashboard?lastEventId=${encodeURIComponent(log[0].id)}`, {
      headers: { cookie },
    });
    const after = await within(query.take(2), "the ticks after the query's id");
    assert.deepEqual(
      after.map((event) => event.id),
      [log[1].id, log[2].id],
    );
    await query.close();
  });

  test("stop() stops the ticks", async (t) => {
    const { live } = await startLive(t);
    await sleep(TICK_MS * 4);
    live.stop();
    await sleep(TICK_MS * 2);
    const [last] = await live.app.history("dashboard", { limit: 1 });
    assert.ok(last, "ticks were published");
    await sleep(TICK_MS * 4);
    const [still] = await live.app.history("dashboard", { limit: 1 });
    assert.equal(still.id, last.id, "no tick after stop()");
  });
});

describe("examples/live: chat", () => {
  test("two members of a room see each other and each other's messages", async (t) => {
    const { live, client } = await startLive(t);
    const ada = await member(t, client, await signIn(client, "ada"), "ada", "lobby");
    await present(ada, ["ada"]);
    const bob = await member(t, client, await signIn(client, "bob"), "bob", "lobby");
    for (const one of [ada, bob]) await present(one, ["ada", "bob"]);
    const bobJoined = ada.events.find((event) => nameOf(event.member) === "bob");
    assert.equal(bobJoined?.type, "join", "ada was told bob joined");
    assert.equal(bobJoined.member.clientId, bob.rt.clientId);
    const elsewhere = await member(t, client, await signIn(client, "cy"), "cy", "kitchen");
    await present(elsewhere, ["cy"]);
    assert.deepEqual(
      (await live.app.presence("room:lobby")).map(nameOf),
      ["ada", "bob"],
      "the server's list too, oldest first",
    );

    const first = await bob.say("hi ada");
    const second = await ada.say("hi bob");
    for (const one of [ada, bob]) {
      const [hiAda, hiBob] = await one.messages.atLeast(2);
      assert.equal(hiAda.topic, "room:lobby");
      assert.equal(hiAda.event, "message");
      assert.deepEqual([hiAda.id, hiAda.data], [first, { name: "bob", text: "hi ada" }]);
      assert.deepEqual([hiBob.id, hiBob.data], [second, { name: "ada", text: "hi bob" }]);
    }
    await elsewhere.say("in the kitchen");
    await elsewhere.messages.atLeast(1, "cy's own message");

    bob.rt.close(); // a closed tab leaves the room
    await present(ada, ["ada"]);
    assert.deepEqual(ada.events.at(-1), { type: "leave", member: bobJoined.member });
    assert.deepEqual(await namesOnServer(live.app, "lobby"), ["ada"]);
    await ada.say("anyone?");
    const all = await ada.messages.atLeast(3);
    assert.deepEqual(
      all.map((message) => message.data.text),
      ["hi ada", "hi bob", "anyone?"],
      "the kitchen's message never reached the lobby",
    );
  });

  test("a member is listed under the session's name whatever the page offers; two tabs show once", async (t) => {
    const { live, client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const tab1 = await member(t, client, cookie, "ada", "garden", { name: "mallory" });
    const tab2 = await member(t, client, cookie, "ada", "garden", "admin");
    const bob = await member(t, client, await signIn(client, "bob"), "bob", "garden");
    const listed = await live.app.presence("room:garden");
    assert.deepEqual(
      listed.map((one) => [one.clientId, one.info]),
      [
        [tab1.rt.clientId, { name: "ada" }],
        [tab2.rt.clientId, { name: "ada" }],
        [bob.rt.clientId, { name: "bob" }],
      ],
      "one member per connection, the info from the session",
    );
    for (const one of [tab1, tab2, bob]) {
      await present(one, ["ada", "bob"]);
      assert.equal(one.members.size, 3, "three connections, two names");
    }
    tab1.rt.close(); // one tab of two: ada is still there
    await waitFor(() => bob.members.size === 2, "tab 1 to leave");
    assert.deepEqual(namesIn(bob), ["ada", "bob"]);
    tab2.rt.close();
    await present(bob, ["bob"]);

    // Presence is for the rooms: the dashboard's is refused, and so is an unknown room's.
    const rt = liveConnect(t, client, cookie);
    for (const topic of ["dashboard", "room:elsewhere"]) {
      const subscription = rt.subscribe(topic, { presence: true });
      const joined = await subscription.ready.catch((e) => e);
      assert.ok(joined instanceof RealtimeError, topic);
      assert.equal(joined.code, "forbidden", topic);
    }
    assert.deepEqual(await live.app.presence("dashboard"), [], "nobody joined it");
    const asked = await rt
      .subscribe("room:nowhere")
      .presence()
      .catch((e) => e);
    assert.equal((asked as RealtimeError).code, "forbidden", "a room that is not there");
  });

  test("a typing notice reaches the others live, not its sender, and is never stored or replayed", async (t) => {
    const { live, client } = await startLive(t);
    const ada = await member(t, client, await signIn(client, "ada"), "ada", "studio");
    const bob = await member(t, client, await signIn(client, "bob"), "bob", "studio");
    await present(ada, ["ada", "bob"]);
    const first = await ada.say("before");
    const notice = { name: "ada", typing: true };
    const liveOnly = { event: "typing", store: false, echo: false } as const;
    const id = await within(ada.rt.publish("room:studio", notice, liveOnly), "the notice sent");
    assert.equal(id, "", "a live-only publish has no id");
    const got = await bob.messages.until((data) => "typing" in data, "bob to see ada typing");
    assert.deepEqual([got.id, got.event, got.data], ["", "typing", notice]);
    const second = await ada.say("after");
    await ada.messages.until((data) => data.text === "after", "ada's own message");
    assert.deepEqual(
      ada.messages.messages.map((message) => message.id),
      [first, second],
      "not echoed to ada",
    );
    await bob.messages.until((data) => data.text === "after", "bob to see ada's message");
    assert.deepEqual(
      (await live.app.history("room:studio")).map((message) => message.data),
      [
        { name: "ada", text: "before" },
        { name: "ada", text: "after" },
      ],
      "not in the room's history",
    );
    const newcomer = await member(t, client, await signIn(client, "cy"), "cy", "studio");
    const replayed = await newcomer.messages.atLeast(2);
    await sleep(100);
    assert.deepEqual(
      replayed.map((message) => message.id),
      [first, second],
      "a newcomer gets the history without the notice",
    );
    // Only your own name, and only `{ name, typing: true }`.
    for (const data of [
      { name: "bob", typing: true },
      { name: "ada", typing: false },
      { name: "ada", typing: true, text: "hi" },
    ]) {
      const refused = await ada.rt.publish("room:studio", data, liveOnly).catch((e) => e);
      assert.equal((refused as RealtimeError).code, "forbidden", JSON.stringify(data));
    }
  });

  test("entering a room replays its history; resuming with since gives only what was missed", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const first = await member(t, client, cookie, "ada", "library");
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) ids.push(await first.say(text));
    first.rt.close();

    const again = await member(t, client, cookie, "ada", "library");
    const replayed = await again.messages.atLeast(3);
    assert.deepEqual(
      replayed.map((message) => [message.id, message.data.text]),
      [
        [ids[0], "one"],
        [ids[1], "two"],
        [ids[2], "three"],
      ],
    );
    again.rt.close();

    const rt = liveConnect(t, client, cookie);
    const resumed = follow<ChatMessage>(rt, "room:library", { since: ids[0] });
    await resumed.atLeast(2);
    await rt.publish("room:library", { name: "ada", text: "four" }, { event: "message" });
    const texts = (await resumed.atLeast(3)).map((message) => message.data.text);
    assert.deepEqual(texts, ["two", "three", "four"], "what was missed, then live");

    const gone = follow(rt, "room:garden", { since: "not-an-id" });
    const reset = await within(
      new Promise<ResetInfo>((resolve) => gone.subscription.on("reset", resolve)),
      "a reset",
    );
    assert.deepEqual([reset.reason, reset.since], ["unknown", "not-an-id"]);
  });

  test("invalid frames and refused requests get a clear error reply, and the socket keeps working", async (t) => {
    const { live, client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    let ws = await rawRealtime(client, { cookie });
    let ref = 0;
    /** A fresh socket: the demo lets one send 30 frames in a burst (see the bounds below). */
    const renew = async () => {
      await ws.close();
      ws = await rawRealtime(client, { cookie });
    };
    /** Sends `frame` (a request with a fresh ref, or raw text) and returns its error reply. */
    const refused = async (frame: Record<string, unknown> | string | Buffer, code: string) => {
      if (++ref % 25 === 0) await renew();
      const mine = typeof frame === "object" && !Buffer.isBuffer(frame) ? ref : null;
      if (mine === null) await ws.send(frame as string | Buffer);
      else await ws.sendJson({ ...(frame as object), ref: mine });
      const reply = await replyTo(ws, mine);
      assert.equal(reply.ok, false, JSON.stringify(frame).slice(0, 80));
      assert.equal(reply.error?.code, code, JSON.stringify(frame).slice(0, 80));
      assert.ok((reply.error?.message.length ?? 0) > 5, "a message that says why");
      return reply.error?.message ?? "";
    };
    await refused("{not json", "invalid");
    await refused(Buffer.from([1, 2, 3]), "invalid");
    await refused("[1,2]", "invalid");
    await refused("null", "invalid");
    await refused({ type: "dance" }, "invalid");
    await refused({ type: "subscribe", topic: "room:lobby", since: 5 }, "invalid");
    const publish = (data: unknown, topic = "room:garden") => ({
      type: "publish",
      topic,
      data,
      event: "message",
    });
    for (const topic of ["room:elsewhere", "room:Lobby", "dashboard", "presence:lobby", "sessions"])
      await refused(publish({ name: "ada", text: "hi" }, topic), "forbidden");
    // Data that is not a chat message of this session's: refused, and nothing is stored.
    for (const data of [
      { name: "ada", text: "   " },
      { name: "ada", text: "" },
      { name: "ada", text: 7 },
      { name: "ada", text: "x".repeat(501) },
      { name: "eve", text: "hi" },
      { name: "Ada", text: "hi" },
      { text: "hi" },
      { name: "ada", text: "hi", admin: true },
      "hi",
      ["ada", "hi"],
      null,
    ]) {
      const message = await refused(publish(data), "forbidden");
      assert.match(message, /room:garden/, "the refusal names the topic");
    }
    assert.deepEqual(await live.app.history("room:garden"), [], "nothing stored");
    // Presence is the topic's: no method for it (the old join/leave are gone), and not for
    // the dashboard or a room that is not there.
    await refused({ type: "call", method: "join", params: { room: "lobby" } }, "not_found");
    await refused({ type: "call", method: "dance" }, "not_found");
    await refused({ type: "subscribe", topic: "dashboard", presence: true }, "forbidden");
    await refused({ type: "presence", topic: "room:../etc" }, "forbidden");
    await refused({ type: "subscribe", topic: "room:lobby", joinLeave: "yes" }, "invalid");
    for (const topic of ["room:elsewhere", "sessions", "cluster", "room:"])
      await refused({ type: "subscribe", topic }, "forbidden");

    await renew();
    await ws.sendJson({ type: "subscribe", ref: "sub", topic: "room:garden" });
    assert.equal((await replyTo(ws, "sub")).ok, true);
    await ws.sendJson({ ...publish({ name: "ada", text: "x".repeat(500) }), ref: "valid" });
    assert.equal((await replyTo(ws, "valid")).ok, true, "a message of 500 characters is fine");

    // With the client: a refused publish rejects with a RealtimeError, the connection stays.
    const rt = liveConnect(t, client, cookie);
    const error = await rt.publish("room:garden", { name: "ada", text: " " }).catch((e) => e);
    assert.ok(error instanceof RealtimeError);
    assert.equal(error.code, "forbidden");
    assert.equal(rt.state, "open");

    // A frame over maxPayload closes this socket (1009), and only this one.
    const big = await rawRealtime(client, { cookie: await signIn(client, "bob") });
    await big.send("x".repeat(10_000));
    assert.equal((await within(big.closed, "the oversized frame's close")).code, 1009);
    await ws.sendJson({ ...publish({ name: "ada", text: "still here" }), ref: "after" });
    assert.equal((await replyTo(ws, "after")).ok, true);
    await waitFor(() => live.app.connections.websocket === 2, "the big socket to be gone");
  });
});

describe("examples/live: export and static files", () => {
  test("the NDJSON export streams the requested rows as valid JSON lines", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const stream = await client.stream("GET", "/export.ndjson?rows=2500", { headers: { cookie } });
    assert.equal(stream.statusCode, 200);
    assert.equal(stream.headers["content-type"], "application/x-ndjson; charset=utf-8");
    assert.match(String(stream.headers["content-disposition"]), /attachment/);
    let count = 0;
    for await (const line of stream.lines()) {
      const row = JSON.parse(line);
      count++;
      assert.equal(row.id, count);
      assert.equal(typeof row.customer, "string");
    }
    assert.equal(count, 2500);
    assert.ok(stream.complete, "ended cleanly");

    const whole = await client.get("/export.ndjson", { headers: { cookie } });
    const lines = whole.text().split("\n");
    assert.equal(lines.pop(), "", "the last line ends with a newline");
    assert.equal(lines.length, 100_000, "large by default");
    assert.equal(JSON.parse(lines[99_999]).id, 100_000);

    for (const rows of ["abc", "-1", "1.5", "99999999"]) {
      const res = await client.get(`/export.ndjson?rows=${rows}`, { headers: { cookie } });
      assert.equal(res.statusCode, 400, `rows=${rows}`);
    }
    const none = await client.get("/export.ndjson?rows=0", { headers: { cookie } });
    assert.equal(none.text(), "");
  });

  test("the page and its assets are public, with the right content types", async (t) => {
    const { client } = await startLive(t);
    const page = await client.get("/");
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
    assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
    for (const id of ["signin-form", "ticks", "messages", "presence", "export-link"])
      assert.match(page.text(), new RegExp(`id="${id}"`));
    assert.equal((await client.get("/index.html")).text(), page.text());
    const expected: Record<string, string> = {
      "/app.js": "text/javascript; charset=utf-8",
      "/style.css": "text/css; charset=utf-8",
    };
    for (const [path, type] of Object.entries(expected)) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.headers["content-type"], type, path);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
    assert.equal((await client.head("/app.js")).statusCode, 200);
    assert.match(page.text(), /<script type="module" src="\/app.js">/);
  });

  test("the page's client is sluice/client, bundled at startup and served to anyone as one module", async (t) => {
    const { client } = await startLive(t);
    const app = await client.get("/app.js");
    assert.match(app.text(), /import \{ connect \} from "\/client.js"/);
    const script = await client.get("/client.js");
    assert.equal(script.statusCode, 200, script.text());
    assert.equal(script.headers["content-type"], "text/javascript; charset=utf-8");
    assert.match(String(script.headers["content-security-policy"]), /default-src 'self'/);
    assert.match(script.text(), /export\s*\{[^}]*\bconnect\b/, "an ES module exporting connect");
    const imports = /^import\b|\bfrom\s*"\.{0,2}\//m; // (its error messages quote `from "ws"`)
    assert.ok(!imports.test(script.text()), "bundled: it imports no other module");
    assert.ok(script.text().length < 40_000, `minified: ${script.text().length} characters`);
  });

  test("without esbuild, the page's client is served from dist/ as modules that all load", async (t) => {
    if (!existsSync("dist/client/index.js")) {
      t.skip("dist/client/ is not built (npm run build; npm test builds it first)");
      return;
    }
    const { client } = await startLive(t, { bundleClient: false });
    const seen = new Set<string>();
    const load = async (path: string): Promise<void> => {
      if (seen.has(path)) return;
      seen.add(path);
      const res = await client.get(path); // no cookie: the client's files are public
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.headers["content-type"], "text/javascript; charset=utf-8", path);
      for (const [, target] of res.text().matchAll(/\bfrom\s*"(\.{0,2}\/[^"]+)"/g))
        await load(new URL(target, `http://x${path}`).pathname);
    };
    await load("/client.js");
    assert.ok(seen.has("/sluice/client/index.js"), [...seen].join(", "));
    assert.ok(seen.has("/sluice/protocol/frames.js"), "the protocol's constants too");
    assert.ok(seen.size > 5, `the client's modules: ${[...seen].join(", ")}`);
    assert.equal((await client.get("/sluice/client/nothing.js")).statusCode, 401);
    assert.equal((await client.get("/sluice/app/app.js")).statusCode, 401, "only the client's");
  });

  test("path traversal and unknown files are refused", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const attempts = [
      "/..%2fpackage.json",
      "/%2e%2e%2fpackage.json",
      "/..%2f..%2fpackage.json",
      "/..%2f..%2f..%2fpackage.json",
      "/..%2fapp.ts",
      "/%2e%2e%2fauth.ts",
      "/..%5cpackage.json",
      "/../package.json",
      "/public/../../package.json",
      "/app.ts",
      "/auth.ts",
      "/%2e%2e",
      "/.",
    ];
    for (const path of attempts) {
      for (const headers of [{}, { cookie }]) {
        const res = await client.get(path, { headers });
        // 400: refused before routing, as sluice does with an encoded `/` or `\`.
        assert.ok([400, 401, 404].includes(res.statusCode), `${path}: ${res.statusCode}`);
        assert.doesNotMatch(res.text(), /"devDependencies"|createLiveApp|Signer/, path);
      }
    }
    const signedIn = await client.get("/..%2fpackage.json", { headers: { cookie } });
    assert.ok([400, 404].includes(signedIn.statusCode), "refused, not for want of credentials");
  });
});

describe("examples/live: sign-out revokes the session", () => {
  test("after sign-out the old cookie and its tokens are refused on HTTP, SSE, the upgrade and the export", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const { token } = (await client.get("/api/token", { headers: { cookie } })).json<{
      token: string;
    }>();
    const other = await signIn(client, "bob"); // another session, which must outlive ada's
    const tryAll = async (credentials: { query: string; headers: Record<string, string> }) => {
      const { query, headers } = credentials;
      const me = await client.get(`/api/me${query}`, { headers });
      const sse = await client.stream("GET", `/api/dashboard${query}`, {
        headers: { ...headers, accept: "text/event-stream" },
      });
      await sse.close();
      const exported = await client.get(`/export.ndjson?rows=1${query.replace("?", "&")}`, {
        headers,
      });
      const upgrade = await upgradeOutcome(client, `/rt${query}`, headers);
      return { me: me.statusCode, sse: sse.statusCode, exported: exported.statusCode, upgrade };
    };
    const ok = { me: 200, sse: 200, exported: 200, upgrade: 101 };
    const refused = { me: 401, sse: 401, exported: 401, upgrade: 4401 };
    const byCookie = { query: "", headers: { cookie } };
    const byToken = { query: `?token=${encodeURIComponent(token)}`, headers: {} };
    assert.deepEqual(await tryAll(byCookie), ok, "the cookie works before sign-out");
    assert.deepEqual(await tryAll(byToken), ok, "so does its token");

    const out = await client.post("/api/signout", { headers: { cookie }, json: {} });
    assert.equal(out.statusCode, 204);
    assert.deepEqual(await tryAll(byCookie), refused, "the old cookie, replayed");
    assert.deepEqual(await tryAll(byToken), refused, "a token of the ended session");
    assert.deepEqual(
      await tryAll({ query: "", headers: { cookie: other } }),
      ok,
      "other sessions go on",
    );
  });

  test("sign-out ends the session's open dashboard streams and real-time connections", async (t) => {
    const { live, client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const bob = await member(t, client, await signIn(client, "bob"), "bob", "lobby");
    const ada = await member(t, client, cookie, "ada", "lobby");
    const closes: { code: number; reason: string; reconnecting: boolean }[] = [];
    ada.rt.on("close", (info) => closes.push(info));
    const stream = client.events("/api/dashboard", { headers: { cookie } });
    const endpointStream = client.events("/rt?topic=dashboard", { headers: { cookie } });
    await within(stream.take(1), "a tick on the open stream");
    await within(endpointStream.take(1), "a tick on the endpoint's stream");
    assert.equal(live.app.connections.sse, 2);

    await client.post("/api/signout", { headers: { cookie }, json: {} });
    await waitFor(() => ada.rt.state === "closed", "ada's client to stop");
    assert.deepEqual(
      closes.map(({ code, reason, reconnecting }) => [code, reason, reconnecting]),
      [[1008, "Signed out", false]],
      "closed once, and the client does not come back",
    );
    await within(stream.take(1000), "the stream to end").catch(() => {});
    await within(endpointStream.take(1000), "the endpoint's stream to end").catch(() => {});
    await waitFor(() => live.app.connections.sse === 0, "the dashboard streams to end");
    await present(bob, ["bob"]);
    await bob.say("still here");
    assert.equal((await bob.messages.atLeast(1)).at(-1)?.data.text, "still here");
  });

  test("the session store is bounded: past MAX_SESSIONS the oldest session is signed out", async () => {
    const { Sessions, MAX_SESSIONS } = await import("../examples/live/sessions.js");
    const app = createLiveApp({ secret: SECRET, logger: false }).app; // publish needs no listen
    let now = 1_000_000;
    const sessions = new Sessions(app, "test", () => now);
    const first = await sessions.open("ada");
    for (let i = 1; i < MAX_SESSIONS; i++) await sessions.open("bob");
    assert.equal(sessions.size, MAX_SESSIONS);
    assert.ok(sessions.find(first.id), "the oldest is still there at the cap");
    const newest = await sessions.open("cy");
    assert.equal(sessions.size, MAX_SESSIONS, "no more than the cap");
    assert.equal(sessions.find(first.id), undefined, "the oldest made room");
    assert.ok(sessions.find(newest.id));
    // Sessions expire: a week later none is left, and the next sign-in clears them out.
    now += 7 * 24 * 60 * 60 * 1000;
    assert.equal(sessions.find(newest.id), undefined, "expired");
    await sessions.open("dee");
    assert.equal(sessions.size, 1, "expired sessions are dropped");
    await app.close();
  });
});

describe("examples/live: bounds", () => {
  test("the chat closes a socket that sends faster than its message rate (1008)", async (t) => {
    const { live, client } = await startLive(t);
    const ws = await rawRealtime(client, { cookie: await signIn(client, "ada") });
    const sent = 2000;
    for (let i = 0; i < sent; i++) {
      const data = { name: "ada", text: `m${i}` };
      void ws.sendJson({ type: "publish", ref: i, topic: "room:lobby", data }).catch(() => {});
    }
    const closed = await within(ws.closed, "the flooding socket to be closed", 10_000);
    assert.deepEqual([closed.code, closed.reason], [1008, "message rate limit exceeded"]);
    const stored = await live.app.history("room:lobby", { limit: sent });
    // The burst (30), plus at most a few refilled while they were handled, and not one more.
    assert.ok(stored.length >= 25 && stored.length <= 35, `${stored.length} messages stored`);
    // A member sending at a human pace is not affected.
    const bob = await member(t, client, await signIn(client, "bob"), "bob", "lobby");
    const before = bob.messages.messages.length;
    for (let i = 0; i < 5; i++) {
      await bob.say(`hi ${i}`);
      await bob.messages.until((data) => data.text === `hi ${i}`, `hi ${i}`);
    }
    assert.equal(bob.messages.messages.length, before + 5);
    await waitFor(() => live.app.connections.websocket === 1, "the flooder gone");
  });

  test("only the listed rooms can be entered; any other gets a clear error", async (t) => {
    const { live, client } = await startLive(t);
    const rt = liveConnect(t, client, await signIn(client, "ada"));
    assert.deepEqual(await rt.call("rooms"), ROOMS, "the rooms method lists them");
    for (const room of ["elsewhere", "room-1", "lobby2", "constructor", "__proto__"]) {
      for (const topic of [roomTopic(room), `presence:${room}`]) {
        const options = { presence: true, joinLeave: true };
        const subscribed = await rt.subscribe(topic, options).ready.catch((e: unknown) => e);
        assert.ok(subscribed instanceof RealtimeError, topic);
        assert.equal(subscribed.code, "forbidden", topic);
        assert.deepEqual(await live.app.presence(topic), [], `nobody in ${topic}`);
      }
    }
    assert.equal(rt.state, "open", "refusals leave the connection up");
    for (const room of ROOMS) {
      const subscription = rt.subscribe(roomTopic(room), { presence: true });
      await within(subscription.ready, `entered ${room}`);
      assert.deepEqual(await namesOnServer(live.app, room), ["ada"], `ada is in ${room}`);
    }
  });

  test("one address may hold MAX_CONNECTIONS_PER_IP streams and sockets; more are refused", async (t) => {
    const { live, client } = await startLive(t, { tickMs: 60_000 });
    const cookie = await signIn(client, "ada");
    const streams = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_IP - 1; i++) {
      const stream = client.events("/api/dashboard", { headers: { cookie } });
      assert.equal((await stream.response).statusCode, 200, `stream ${i + 1}`);
      streams.push(stream);
    }
    const last = await rawRealtime(client, { cookie });
    assert.equal(live.app.connections.sse + live.app.connections.websocket, MAX_CONNECTIONS_PER_IP);

    const refused = await client.stream("GET", "/api/dashboard", {
      headers: { cookie, accept: "text/event-stream" },
    });
    assert.equal(refused.statusCode, 503);
    assert.match(await refused.text(), /Too many connections from your address/);
    assert.equal(await upgradeOutcome(client, "/rt", { cookie }), 1013);

    // A place given back is a place to take.
    await last.close();
    await waitFor(() => live.app.connections.websocket === 0, "the socket to be gone");
    const again = client.events("/api/dashboard", { headers: { cookie } });
    assert.equal((await again.response).statusCode, 200);
    await Promise.all([...streams, again].map((stream) => stream.close()));
  });

  test("the app holds at most MAX_CONNECTIONS streams and sockets from all addresses together", async (t) => {
    const { live, client } = await startLive(t, { tickMs: 60_000 });
    const cookie = await signIn(client, "ada");
    const url = realtimeUrl(client);
    // Loopback is all of 127/8 on Linux: each address holds as many as it may.
    const open = (n: number) =>
      new Promise<WebSocket>((resolve, reject) => {
        const localAddress = `127.0.${1 + Math.floor(n / MAX_CONNECTIONS_PER_IP)}.${2 + (n % 7)}`;
        const ws = new WebSocket(url, ["sluice.v1"], { headers: { cookie }, localAddress });
        ws.once("message", () => resolve(ws)); // the welcome: let in
        ws.once("close", (code) => reject(new Error(`socket ${n} closed with ${code}`)));
        ws.once("error", reject);
      });
    const sockets: WebSocket[] = [];
    t.after(() => {
      for (const ws of sockets) ws.terminate();
    });
    for (let n = 0; n < MAX_CONNECTIONS; n += 50) {
      const batch = Array.from({ length: Math.min(50, MAX_CONNECTIONS - n) }, (_, i) =>
        open(n + i),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    assert.equal(live.app.connections.websocket, MAX_CONNECTIONS);
    const extra = new WebSocket(url, ["sluice.v1"], {
      headers: { cookie },
      localAddress: "127.0.200.1",
    });
    const code = await within(
      new Promise<number>((resolve) => extra.once("close", resolve)),
      "the extra socket to close",
    );
    assert.equal(code, 1013, "the socket past the cap is closed: try again later");
    const stream = await client.stream("GET", "/api/dashboard", {
      headers: { cookie, accept: "text/event-stream" },
    });
    assert.equal(stream.statusCode, 503);
    assert.match(await stream.text(), /Too many connections; try again later/);
  });

  test("the export refuses more than MAX_EXPORT_ROWS rows with a clear 400", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const over = await client.get(`/export.ndjson?rows=${MAX_EXPORT_ROWS + 1}`, {
      headers: { cookie },
    });
    assert.equal(over.statusCode, 400);
    assert.match(
      over.json<{ message: string }>().message,
      /rows must be a whole number from 0 to 100000/,
    );
    const most = await client.get(`/export.ndjson?rows=${MAX_EXPORT_ROWS}`, {
      headers: { cookie },
    });
    assert.equal(most.text().split("\n").length - 1, MAX_EXPORT_ROWS);
  });

  test("one address may run MAX_EXPORTS_PER_IP exports at once; the next gets 429 until one ends", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    const start = () => client.stream("GET", "/export.ndjson", { headers: { cookie } });
    // Not read: each stays open, stalled on a full socket.
    const running = [];
    for (let i = 0; i < MAX_EXPORTS_PER_IP; i++) {
      const stream = await start();
      assert.equal(stream.statusCode, 200);
      running.push(stream);
    }
    const refused = await client.get("/export.ndjson?rows=1", { headers: { cookie } });
    assert.equal(refused.statusCode, 429);
    assert.match(refused.json<{ message: string }>().message, /exports at once from one address/);
    assert.equal(refused.headers["retry-after"], "10");

    // A client that leaves gives its place back, and so does one that reads to the end.
    await running[0].close();
    await eventually(
      async () =>
        (await client.get("/export.ndjson?rows=1", { headers: { cookie } })).statusCode === 200,
      "a place after the client left",
    );
    const lines = (await running[1].text()).split("\n").length - 1;
    assert.equal(lines, DEFAULT_EXPORT_ROWS);
    const both = await Promise.all([start(), start()]);
    assert.deepEqual(
      both.map((stream) => stream.statusCode),
      [200, 200],
    );
    await Promise.all(both.map((stream) => stream.close()));
  });

  test("?lastEventId= has the same 1 KiB cap as the Last-Event-ID header: 400 past it", async (t) => {
    const { client } = await startLive(t);
    const cookie = await signIn(client, "ada");
    /** The status of a dashboard request that resumes from `id`, sent in the header or the query. */
    const open = async (id: string, via: "header" | "query") => {
      const stream = await client.stream(
        "GET",
        via === "query" ? `/api/dashboard?lastEventId=${encodeURIComponent(id)}` : "/api/dashboard",
        {
          headers: {
            cookie,
            accept: "text/event-stream",
            ...(via === "header" ? { "last-event-id": id } : {}),
          },
        },
      );
      const body = stream.statusCode === 200 ? "" : await stream.text();
      await stream.close();
      return { status: stream.statusCode, body };
    };
    const atCap = "x".repeat(MAX_LAST_EVENT_ID_BYTES);
    const overCap = `${atCap}x`;
    for (const via of ["header", "query"] as const) {
      assert.equal((await open(atCap, via)).status, 200, `1 KiB in the ${via}`);
      const over = await open(overCap, via);
      assert.equal(over.status, 400, `1 KiB + 1 in the ${via}`);
      assert.match(
        JSON.parse(over.body).message,
        /too long: 1025 bytes, at most 1024 are accepted/,
        `the ${via}'s refusal says why`,
      );
    }
    // Counted in UTF-8 bytes, as the header is: 342 euro signs are 1 026 bytes.
    assert.equal((await open("€".repeat(342), "query")).status, 400);
    assert.equal((await open("€".repeat(341), "query")).status, 200);
  });
});

describe("examples/live: the sign-in guard fails closed", () => {
  test("no spelling of a private path reaches its handler without credentials", async (t) => {
    const { live, client } = await startLive(t);
    const private_ = [
      "/%61pi/me",
      "/api/%6de",
      "/API/me",
      "/api/me/",
      "/api//me",
      "//api/me",
      "/api/./me",
      "/api/x/../me",
      "/api/%2e/me",
      "/api/me;x",
      "/api/me%2f",
      "/api/toke%6e",
      "/%65xport.ndjson",
      "/export.ndjson/",
      "/api/%64ashboard",
      "/api/dashboard%00",
      "/%61pi/signin/../me",
    ];
    for (const path of private_) {
      const res = await client.get(path, { headers: { accept: "text/event-stream" } });
      assert.ok([400, 401, 404].includes(res.statusCode), `${path}: ${res.statusCode}`);
      assert.doesNotMatch(res.text(), /"name"|"token"|customer-|event: tick/, path);
    }
    for (const path of ["/r%74", "/RT", "/rt/", "//rt", "/./rt", "/rt?topic=dashboard"]) {
      const outcome = await upgradeOutcome(client, path, {});
      assert.ok([400, 401, 404, 4401].includes(outcome), `${path}: ${outcome}`);
      const sse = await client.get(path, { headers: { accept: "text/event-stream" } });
      assert.ok([400, 401, 404].includes(sse.statusCode), `GET ${path}: ${sse.statusCode}`);
    }
    assert.equal(live.app.connections.websocket, 0);
    // Without credentials, only the listed methods and paths are public.
    for (const [method, path] of [
      ["PUT", "/api/signin"],
      ["DELETE", "/"],
      ["POST", "/app.js"],
    ] as const) {
      // (No body on the DELETE: the test client would send it unframed.)
      const res = await client.request(method, path, method === "DELETE" ? {} : { json: {} });
      assert.equal(res.statusCode, 401, `${method} ${path}`);
    }
  });
});

const noRedis = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (npm test installs it as root on Debian: scripts/test-setup.sh)"
  : false;

describe("examples/live: two processes on one Redis", { skip: noRedis }, () => {
  test("they share one tick sequence, the rooms and who is in them", async (t) => {
    const redis = await RedisServer.start();
    const start = async () => {
      const broker = redisBroker({ url: redis.url, prefix: "live:" });
      return startLive(t, { broker });
    };
    const a = await start();
    const b = await start();
    t.after(() => redis.stop()); // after hooks run in order: the apps close first

    // One leader publishes the ticks: both dashboards see one sequence, with both servers.
    const ticksOf = async (client: Client) => {
      const stream = client.events("/api/dashboard", {
        headers: { cookie: await signIn(client, "ada") },
      });
      const events = await within(stream.take(8), "8 ticks", 5000);
      await stream.close();
      return events.map((event) => JSON.parse(event.data) as Tick & { servers: number });
    };
    // Each server learns of the other from its cluster reports: wait until both count two.
    const countsBoth = async (client: Client) => {
      const stream = client.events("/api/dashboard", {
        headers: { cookie: await signIn(client, "ada") },
      });
      const [event] = await within(stream.take(1), "a tick", 5000);
      await stream.close();
      return (JSON.parse(event.data) as Tick & { servers: number }).servers === 2;
    };
    await eventually(
      async () => (await countsBoth(a.client)) && (await countsBoth(b.client)),
      "both servers to count each other",
      10_000,
    );
    const [onA, onB] = await Promise.all([ticksOf(a.client), ticksOf(b.client)]);
    for (const ticks of [onA, onB]) {
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i].seq, ticks[i - 1].seq + 1);
      assert.equal(ticks.at(-1)!.servers, 2, "the tick adds up both servers");
      assert.ok(ticks.at(-1)!.clients >= 2, "a stream on each server");
    }
    const seqsOnA = new Set(onA.map((tick) => tick.seq));
    assert.ok(
      onB.some((tick) => seqsOnA.has(tick.seq)),
      "the same ticks reach both servers' clients",
    );

    // The same secret: a cookie from one server is good on the other.
    const adaCookie = await signIn(a.client, "ada");
    const ada = await member(t, a.client, adaCookie, "ada", "lobby");
    const bob = await member(t, b.client, await signIn(b.client, "bob"), "bob", "lobby");
    for (const one of [ada, bob]) await present(one, ["ada", "bob"]);
    const fromB = await bob.say("from b");
    const [onAda] = await ada.messages.atLeast(1, "b's message on a");
    assert.deepEqual([onAda.id, onAda.data.text], [fromB, "from b"]);

    // A typing notice crosses processes too, and stays out of the log.
    const typing = { event: "typing", store: false, echo: false } as const;
    await ada.rt.publish("room:lobby", { name: "ada", typing: true }, typing);
    const notice = await bob.messages.until((data) => "typing" in data, "ada typing, on b");
    assert.equal(notice.id, "");

    // Reports of the wrong shape on the cluster topic break nothing: not the rooms, not the
    // following of the other server.
    const eve = await member(t, b.client, await signIn(b.client, "eve"), "eve", "studio");
    await present(eve, ["eve"]);
    for (const bad of [{ server: "old" }, { server: "odd", clients: "1" }, "text"]) {
      await a.live.app.publish(CLUSTER_TOPIC, bad);
    }
    await eve.say("still here");
    assert.equal((await eve.messages.atLeast(1)).at(-1)?.data.text, "still here");
    const carol = await member(t, a.client, await signIn(a.client, "carol"), "carol", "studio");
    await present(carol, ["carol", "eve"]);
    await present(eve, ["carol", "eve"]);
    carol.rt.close();
    eve.rt.close();
    const [afterA] = await Promise.all([ticksOf(a.client)]);
    assert.equal(afterA.at(-1)!.servers, 2, "a still hears b after the bad reports");

    bob.rt.close(); // a closed tab on b leaves the list on a
    await present(ada, ["ada"]);
    const later = await member(t, b.client, adaCookie, "ada", "lobby");
    const [history] = await later.messages.atLeast(1, "history on b");
    assert.deepEqual([history.id, history.data.text], [fromB, "from b"]);
    const stored = await b.live.app.history("room:lobby");
    assert.deepEqual(
      stored.map((message) => message.id),
      [fromB],
      "the typing notice is not in the history",
    );

    // A server started now learns the sessions opened before it from the topic's log, and
    // who is in the rooms from the broker: ada (two tabs, on a and b) is listed once.
    const c = await start();
    const onC = await c.client.get("/api/me", { headers: { cookie: adaCookie } });
    assert.deepEqual(onC.json(), { name: "ada" }, "a's session is known on c");
    const dee = await member(t, c.client, await signIn(c.client, "dee"), "dee", "lobby");
    await present(dee, ["ada", "dee"]);
    assert.equal(dee.members.size, 3, "ada's two connections and dee's");
    assert.deepEqual(await namesOnServer(c.live.app, "lobby"), ["ada", "dee"]);

    // Signing out on b ends the session everywhere: the cookie, and the sockets open on a
    // (and ada leaves the room, as dee on c is told).
    const out = await b.client.post("/api/signout", { headers: { cookie: adaCookie }, json: {} });
    assert.equal(out.statusCode, 204);
    await waitFor(() => ada.rt.state === "closed", "ada's client on a to stop", 5000);
    await present(dee, ["dee"]);
    for (const server of [a, b, c]) {
      await eventually(
        async () =>
          (await server.client.get("/api/me", { headers: { cookie: adaCookie } })).statusCode ===
          401,
        "the old cookie refused on every server",
      );
    }
  });
});

describe("examples/live: cluster reports", () => {
  test("a report of the wrong shape is ignored, and only the known fields are kept", () => {
    const good = { server: "s1", clients: 2, eventsPerSec: 1.5, rssMb: 80 };
    assert.deepEqual(asServerReport(good), good);
    for (const bad of [
      null,
      "x",
      { server: "s" },
      { ...good, server: 1 },
      { ...good, clients: "2" },
      { ...good, rssMb: Number.NaN },
    ]) {
      assert.equal(asServerReport(bad), undefined, JSON.stringify(bad));
    }
    // An older process's report, with the rooms it used to carry: the figures are used.
    const older = { ...good, rooms: { lobby: ["ada"] }, constructor: "x" };
    assert.deepEqual(asServerReport(older), good);
  });
});

describe("examples/live/main.ts", () => {
  test("listens on PORT, serves the page, and exits 0 on SIGTERM", async (t) => {
    const { child, url } = await startExample(t, "examples/live/main.ts", {
      HOST: "127.0.0.1",
      REDIS_URL: "",
    });
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /id="dashboard-status"/);
    assert.equal((await fetch(`${url}/api/me`)).status, 401);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    assert.equal(await within(exited, "the demo to exit", 8000), 0);
  });
});
