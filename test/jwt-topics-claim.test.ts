// Issue 22, "per-topic permissions from claims": jwtAuth({ topicsClaim }) lets a token list
// the topics its holder may subscribe and publish to; app.realtime() uses them when it has
// no subscribe / publish option of its own. A malformed claim refuses the token (401).
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { JWTPayload } from "jose";
import type { App, ListeningServer, RealtimeOptions } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { signToken, testJwtAuth } from "./support/jwt-tokens.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { waitFor } from "./support/wait.js";

const servers: ListeningServer[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

/** An app behind jwtAuth({ topicsClaim: "topics" }) with a real-time endpoint at /rt. */
async function serve(options: RealtimeOptions = {}): Promise<{ app: App; url: string }> {
  const app = quietApp();
  app.use(testJwtAuth({ topicsClaim: "topics" }));
  app.realtime("/rt", options);
  app.get("/me", (req) => req.state.auth);
  const server = await app.listen({ port: 0, host: "127.0.0.1" });
  servers.push(server);
  return { app, url: server.url };
}

async function peerWith(url: string, claims: JWTPayload): Promise<RealtimePeer> {
  const { token } = await signToken({ ...claims, exp: null });
  const peer = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt`, {
    protocols: ["sluice.v1", "bearer", token],
  });
  await waitFor(() => peer.frames.some((frame) => frame.type === "welcome"), "the welcome");
  return peer;
}

/** The outcome of each request: "ok" or its error code. */
async function outcomes(peer: RealtimePeer, frames: Record<string, unknown>[]): Promise<string[]> {
  const results: string[] = [];
  for (const frame of frames) {
    const reply = await peer.request(frame);
    results.push(reply.ok ? "ok" : (reply.error as { code: string }).code);
  }
  return results;
}

const subscribe = (topic: string) => ({ type: "subscribe", topic });
const publish = (topic: string) => ({ type: "publish", topic, data: { text: "hi" } });

describe("topics from the token's claim", () => {
  test("{ subscribe, publish } patterns allow those topics and forbid the others", async () => {
    const { url } = await serve();
    const peer = await peerWith(url, {
      topics: { subscribe: ["chat:*", "news"], publish: ["chat:lobby"] },
    });
    assert.deepEqual(
      await outcomes(peer, [
        subscribe("chat:lobby"),
        subscribe("news"),
        subscribe("chat:a:b"),
        subscribe("admin"),
        publish("chat:lobby"),
        publish("chat:kitchen"),
        publish("news"),
      ]),
      ["ok", "ok", "forbidden", "forbidden", "ok", "forbidden", "forbidden"],
    );
    await peer.close();
  });

  test("a list alone allows subscribing only; no claim allows nothing", async () => {
    const { url } = await serve();
    const listed = await peerWith(url, { topics: ["news"] });
    assert.deepEqual(await outcomes(listed, [subscribe("news"), publish("news")]), [
      "ok",
      "forbidden",
    ]);
    await listed.close();
    const none = await peerWith(url, {});
    assert.deepEqual(await outcomes(none, [subscribe("news"), publish("news")]), [
      "forbidden",
      "forbidden",
    ]);
    await none.close();
  });

  test("the endpoint's own subscribe / publish options win over the claim", async () => {
    const { url } = await serve({ subscribe: ["weather"] });
    const peer = await peerWith(url, { topics: { subscribe: ["news"], publish: ["news"] } });
    assert.deepEqual(
      await outcomes(peer, [subscribe("news"), subscribe("weather"), publish("news")]),
      ["forbidden", "ok", "ok"],
    );
    await peer.close();
  });

  test("after a refresh, the new token's topics apply to the next requests", async () => {
    const { url } = await serve();
    const peer = await peerWith(url, { topics: ["news"] });
    assert.deepEqual(await outcomes(peer, [subscribe("sport")]), ["forbidden"]);
    const { token } = await signToken({ topics: ["sport"], exp: null });
    assert.deepEqual(await outcomes(peer, [{ type: "refresh", token }]), ["ok"]);
    assert.deepEqual(await outcomes(peer, [subscribe("sport"), subscribe("weather")]), [
      "ok",
      "forbidden",
    ]);
    await peer.close();
  });

  test("frames sent right after a refresh, without waiting for its reply, are judged by the new token", async () => {
    const { url } = await serve();
    const peer = await peerWith(url, { topics: ["news", "admin"] });
    const { token } = await signToken({ topics: ["news", "sport"], exp: null });
    // Pipelined: the refresh, then at once two subscribes (jose verifies asynchronously).
    peer.send(JSON.stringify({ type: "refresh", ref: "r", token }));
    peer.send(JSON.stringify({ ...subscribe("sport"), ref: "granted" }));
    peer.send(JSON.stringify({ ...subscribe("admin"), ref: "revoked" }));
    assert.equal((await peer.reply("r")).ok, true);
    assert.equal((await peer.reply("granted")).ok, true, "granted by the new token");
    const revoked = await peer.reply("revoked");
    assert.equal((revoked.error as { code: string } | undefined)?.code, "forbidden");
    await peer.close();
  });

  test("the SSE transport follows the claim too: 200 for listed topics, 403 otherwise", async () => {
    const { url } = await serve();
    const { token } = await signToken({ topics: ["news"], exp: null });
    const controller = new AbortController();
    const allowed = await fetch(`${url}/rt?topic=news&access_token=${token}`, {
      signal: controller.signal,
    });
    assert.equal(allowed.status, 200);
    controller.abort();
    const forbidden = await fetch(`${url}/rt?topic=admin&access_token=${token}`);
    assert.equal(forbidden.status, 403);
  });

  test("a malformed claim refuses the token with 401 and says what is wrong", async () => {
    const { url } = await serve();
    const cases: [unknown, RegExp][] = [
      ["news", /topics claim must be an object \{ subscribe, publish \}/],
      [{ subscribe: "news" }, /topics\.subscribe claim must be a list of topic patterns/],
      [{ publish: [1] }, /topics\.publish claim holds 1, which is no topic pattern/],
      [{ subscribe: [""] }, /holds \\"\\", which is no topic pattern/],
      [{ subcribe: ["news"] }, /has \\"subcribe\\": only subscribe and publish are read/],
      [null, /topics claim must be an object/],
    ];
    for (const [claim, description] of cases) {
      const { token } = await signToken({ topics: claim, exp: null });
      const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 401, JSON.stringify(claim));
      const challenge = response.headers.get("www-authenticate") ?? "";
      assert.match(challenge, /error="invalid_token"/);
      assert.match(challenge, description, JSON.stringify(claim));
    }
  });

  test("a well-formed claim is accepted and left in the principal as it was", async () => {
    const { url } = await serve();
    const topics = { subscribe: ["chat:*"], publish: [] };
    const { token } = await signToken({ topics, exp: null });
    const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { topics: unknown }).topics, topics);
  });
});
