// Issue 22, "auth that expires", on the real-time protocol: the welcome's expiresIn, the
// `refresh` frame (verified like the first token), the 4001 close at expiry, and the client
// that fetches a fresh token before expiry and reconnects after a 4001.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { WebSocket } from "ws";
import { type CloseInfo, connect } from "../src/client/index.js";
import type { App, ListeningServer } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { assertEndedOnTime, signToken, testJwtAuth } from "./support/jwt-tokens.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { sleep, waitFor, within } from "./support/wait.js";

const servers: ListeningServer[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

/** A real-time endpoint at /rt behind jwtAuth (unless `auth` is false); its ws:// URL. */
async function endpoint(auth = true): Promise<{ app: App; url: string }> {
  const app = quietApp();
  if (auth) app.use(testJwtAuth());
  app.realtime("/rt", {
    subscribe: ["news"],
    publish: ["news"],
    // A call that answers after `ms`: slow requests that fill the server's request slots.
    methods: { wait: (params) => sleep((params as { ms: number }).ms).then(() => "waited") },
  });
  const server = await app.listen({ port: 0, host: "127.0.0.1" });
  servers.push(server);
  return { app, url: `${server.url.replace("http", "ws")}/rt` };
}

async function peerWith(url: string, token?: string) {
  const peer = await RealtimePeer.connect(url, {
    protocols: token ? ["sluice.v1", "bearer", token] : ["sluice.v1"],
  });
  await waitFor(() => peer.frames.some((frame) => frame.type === "welcome"), "the welcome");
  const closed = peer.closed.then((close) => ({ ...close, at: Date.now() }));
  return { peer, closed, welcome: peer.frames[0] };
}

describe("the refresh frame and the welcome's expiresIn", { concurrency: true }, () => {
  test("the welcome says in how many ms the token expires; null for a token without exp, and without auth", async () => {
    const { url } = await endpoint();
    const { token, expiresAt } = await signToken();
    const { peer, welcome } = await peerWith(url, token);
    const expected = (expiresAt as number) - Date.now();
    assert.equal(typeof welcome.expiresIn, "number");
    assert.ok(Math.abs((welcome.expiresIn as number) - expected) < 200, `${welcome.expiresIn}`);
    await peer.close();

    const forever = await peerWith(url, (await signToken({ exp: null })).token);
    assert.equal(forever.welcome.expiresIn, null);
    await forever.peer.close();

    const open = await peerWith((await endpoint(false)).url);
    assert.equal(open.welcome.expiresIn, null);
    await open.peer.close();
  });

  test("a refresh with a new token for the same subject replies its expiresIn and moves the 4001 to its expiry", async () => {
    const { url } = await endpoint();
    const first = await signToken();
    const { peer, closed } = await peerWith(url, first.token);
    const second = await signToken({ exp: (first.expiresAt as number) / 1000 + 1 });
    const reply = await peer.request({ type: "refresh", token: second.token });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const { expiresIn } = reply.result as { expiresIn: number };
    assert.ok(Math.abs(expiresIn - ((second.expiresAt as number) - Date.now())) < 200);
    const close = await within(closed, "the close", 5000);
    assert.deepEqual([close.code, close.reason], [4001, "credentials expired"]);
    assertEndedOnTime(close.at, second.expiresAt, "the refreshed connection");
  });

  test("a refresh with an expired, an invalid or another subject's token is forbidden, and the connection closes at the old expiry", async () => {
    const { url } = await endpoint();
    const first = await signToken();
    const { peer, closed } = await peerWith(url, first.token);
    const later = Math.ceil(Date.now() / 1000) + 60;
    const refused = [
      (await signToken({ exp: Math.floor(Date.now() / 1000) - 10 })).token,
      `${(await signToken({ exp: later })).token}x`,
      (await signToken({ sub: "bob", exp: later })).token,
      "not a token",
    ];
    const replies = [];
    for (const token of refused) replies.push(await peer.request({ type: "refresh", token }));
    assert.deepEqual(
      replies.map((reply) => (reply.error as { code: string } | undefined)?.code),
      ["forbidden", "forbidden", "forbidden", "forbidden"],
    );
    const messages = replies.map((reply) => (reply.error as { message: string }).message);
    assert.match(messages[0], /expired/);
    assert.match(messages[1], /signature/);
    assert.match(messages[2], /another subject/);
    assert.match(messages[3], /Malformed/);
    const close = await within(closed, "the close", 4000);
    assert.equal(close.code, 4001);
    assertEndedOnTime(close.at, first.expiresAt, "the connection whose refreshes were refused");
  });

  test("a refresh without a token is invalid; on an endpoint without token auth it is forbidden", async () => {
    const { url } = await endpoint();
    const { peer } = await peerWith(url, (await signToken({ exp: null })).token);
    const reply = await peer.request({ type: "refresh" });
    assert.deepEqual(reply.error, {
      code: "invalid",
      message: "refresh needs a token: a non-empty string",
    });
    await peer.close();

    const open = await peerWith((await endpoint(false)).url);
    const nothing = await open.peer.request({ type: "refresh", token: "abc" });
    assert.equal((nothing.error as { code: string }).code, "forbidden");
    assert.match((nothing.error as { message: string }).message, /Nothing to refresh/);
    await open.peer.close();
  });
});

describe("the client refreshes its token", { concurrency: true }, () => {
  test("connect({ token }) stays connected past its first token's expiry: it sent a fresh one", async (t) => {
    const { app, url } = await endpoint();
    const minted: (number | undefined)[] = [];
    const closes: CloseInfo[] = [];
    const client = connect(url, {
      WebSocket: WebSocket as never,
      token: async () => {
        const { token, expiresAt } = await signToken();
        minted.push(expiresAt);
        return token;
      },
    });
    t.after(() => client.close());
    client.on("close", (close) => closes.push(close));
    const received: unknown[] = [];
    client.subscribe("news", {}, (message) => received.push(message.data));
    await waitFor(() => client.state === "open", "the connection", 3000);
    const firstExpiry = minted[0] as number;
    await sleep(firstExpiry - Date.now() + 700);
    assert.ok(minted.length >= 2, `token() was called ${minted.length} times`);
    assert.deepEqual(closes, [], "no close: the connection was refreshed, not cut");
    assert.equal(client.state, "open");
    await app.publish("news", { after: "expiry" });
    await waitFor(() => received.length === 1, "a message after the first token's expiry");
  });

  test("a refresh goes past 64 slow requests (server and client): the connection is not closed at the old expiry", async (t) => {
    const { url } = await endpoint();
    // A raw peer: 64 calls in flight, then a refresh, which is read and answered at once.
    const first = await signToken();
    const { peer, closed } = await peerWith(url, first.token);
    for (let n = 0; n < 64; n++) {
      peer.send(
        JSON.stringify({ type: "call", ref: `c${n}`, method: "wait", params: { ms: 3000 } }),
      );
    }
    const second = await signToken({ exp: (first.expiresAt as number) / 1000 + 3 });
    peer.send(JSON.stringify({ type: "refresh", ref: "r", token: second.token }));
    const reply = await within(peer.reply("r"), "the refresh reply", 1000);
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const early = await Promise.race([
      closed,
      sleep((first.expiresAt as number) - Date.now() + 300),
    ]);
    assert.equal(early, undefined, "still open past the first token's expiry");
    assert.equal((await within(peer.reply("c63"), "the last call", 4000)).result, "waited");
    await peer.close();

    // sluice/client: 70 slow calls queued (64 sent), and its refresh still goes out in time.
    const closes: CloseInfo[] = [];
    let minted = 0;
    const client = connect(url, {
      WebSocket: WebSocket as never,
      token: async () =>
        (await signToken({ exp: Math.ceil(Date.now() / 1000) + 2 + minted++ })).token,
      reconnect: false,
    });
    t.after(() => client.close());
    client.on("close", (close) => closes.push(close));
    await waitFor(() => client.state === "open", "the connection", 3000);
    const calls = Array.from({ length: 70 }, () => client.call("wait", { ms: 3500 }));
    await sleep(3200);
    assert.ok(minted >= 2, `token() was called ${minted} times`);
    assert.deepEqual(closes, [], "not closed with 4001: the refresh went past the queued calls");
    const results = await within(Promise.all(calls), "the calls", 8000);
    assert.equal(results.length, 70);
  });

  test("after a refused refresh the 4001 close makes the client reconnect with a fresh token", async (t) => {
    const { url } = await endpoint();
    let calls = 0;
    const closes: CloseInfo[] = [];
    const errors: Error[] = [];
    const client = connect(url, {
      WebSocket: WebSocket as never,
      reconnect: { initialDelay: 10, maxDelay: 50 },
      // The second token (the refresh) is for another subject: refused.
      token: async () => (await signToken({ sub: ++calls === 2 ? "bob" : "ada" })).token,
    });
    t.after(() => client.close());
    client.on("close", (close) => closes.push(close));
    client.on("error", (error) => errors.push(error));
    await waitFor(() => closes.length === 1, "the 4001 close", 4000);
    assert.deepEqual(closes[0], { code: 4001, reason: "credentials expired", reconnecting: true });
    assert.match(String(errors[0]?.message), /another subject/);
    await waitFor(() => client.state === "open" && calls >= 3, "the reconnect", 3000);
    const doc = readFileSync(new URL("../docs/protocol.md", import.meta.url), "utf8");
    assert.match(
      doc,
      /\| 4001 +\| [^|]+\| yes, with a fresh token +\|/,
      "docs/protocol.md says so",
    );
  });
});
