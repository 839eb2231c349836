// The hub's publish API (src/hub/publish-api.ts) over real sockets, on the memory broker and a
// real Redis: POST /publish (JSON and form-encoded), POST /publish/batch (all or nothing),
// GET /topics/{topic}/history and /presence; publish keys and JWT publishers; and every
// refusal an application/problem+json with a status that says what to fix, nothing stored.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import type { HubOptions } from "../src/hub/hub-options.js";
import { publishApi } from "../src/hub/publish-api.js";
import { App, type Broker, memoryBroker, type StoredMessage } from "../src/index.js";
import { BrokerUnavailableError } from "../src/redis/errors.js";
import { redisBroker } from "../src/redis/index.js";
import { loopbackListener } from "./support/apps.js";
import { bothBrokers } from "./support/both-brokers.js";
import { SECRET, signToken } from "./support/jwt-tokens.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { RedisServer } from "./support/redis-server.js";
import { eventually, sleep } from "./support/wait.js";

const KEY = "pk_test_0123456789abcdef";
const OTHER_KEY = "pk_test_other_key_fedcba9876";
const TOPICS = ["news", "chat:*", "room:*"];
const MAX_BODY = 4096;

function hubOptions(overrides: Partial<HubOptions> = {}): HubOptions {
  return {
    port: 0,
    host: "127.0.0.1",
    redis: undefined,
    history: 1000,
    jwt: {
      secret: SECRET,
      jwksUrl: undefined,
      issuer: undefined,
      audience: undefined,
      algorithms: ["HS256"],
      topicsClaim: "topics",
    },
    publishKeys: [KEY, OTHER_KEY],
    corsOrigins: [],
    topics: TOPICS,
    maxConnections: undefined,
    maxConnectionsPerIp: undefined,
    clientIpHeader: undefined,
    workers: 1,
    maxBody: MAX_BODY,
    publishRate: { burst: 10_000, perSecond: 10_000 },
    ...overrides,
  };
}

const listen = loopbackListener();
const apps: App[] = [];
after(() => Promise.all(apps.map((app) => app.close())));

/** A hub-like App on `broker`: the publish API, and /rt for subscribers to watch deliveries. */
async function startHub(broker: Broker, overrides: Partial<HubOptions> = {}) {
  const app = new App({ logger: false, broker });
  apps.push(app);
  publishApi(app, hubOptions(overrides));
  app.realtime("/rt", { subscribe: TOPICS });
  const base = await listen(app);
  return { app, base };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  path: string,
  init: { method?: string; token?: string; json?: unknown; body?: string; type?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) body = JSON.stringify(init.json);
  const type = init.type ?? (init.json !== undefined ? "application/json" : undefined);
  if (type !== undefined) headers["content-type"] = type;
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

const publish = (base: string, json: unknown, token = KEY) =>
  call(base, "/publish", { token, json });

/** Asserts an answer is the problem document of `status`, whose detail matches `detail`. */
function assertProblem(answer: Answer, status: number, detail: RegExp): void {
  assert.equal(answer.status, status, `status of ${JSON.stringify(answer.body)}`);
  assert.equal(answer.headers.get("content-type"), "application/problem+json");
  assert.equal(answer.body.status, status);
  assert.equal(answer.body.type, "about:blank");
  assert.equal(typeof answer.body.title, "string");
  assert.equal(typeof answer.body.requestId, "string");
  assert.match(String(answer.body.detail), detail);
}

/** Ids of a topic's stored messages, read through the API itself. */
async function storedIds(base: string, topic: string): Promise<string[]> {
  const answer = await call(base, `/topics/${topic}/history?limit=1000`, { token: KEY });
  assert.equal(answer.status, 200);
  return (answer.body.messages as { id: string }[]).map((message) => message.id);
}

/** A JWT that expires in a minute, granting its topics claim. */
async function jwt(topics: unknown, claims: Record<string, unknown> = {}): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 60;
  return (await signToken({ topics, exp, ...claims })).token;
}

const redis = await RedisServer.start();
after(() => redis.stop());

for (const kind of bothBrokers(redis, "hub-publish-api")) {
  describe(`the hub's publish API on the ${kind.name}`, () => {
    let app: App;
    let base: string;
    const peers: RealtimePeer[] = [];
    after(() => Promise.all(peers.map((peer) => peer.close())));

    /** A subscriber on /rt following `topic`, once its subscribe was answered. */
    async function subscriber(topic: string, presence?: unknown): Promise<RealtimePeer> {
      const peer = await RealtimePeer.connect(`${base.replace("http", "ws")}/rt`);
      peers.push(peer);
      const reply = await peer.request({ type: "subscribe", topic, presence });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      return peer;
    }

    before(async () => {
      ({ app, base } = await startHub(kind.make()));
    });

    test("POST /publish stores the message, answers its id and delivers it to subscribers", async () => {
      const peer = await subscriber("chat:one");
      const answer = await publish(base, {
        topic: "chat:one",
        data: { text: "hi" },
        event: "said",
      });
      assert.equal(answer.status, 200);
      assert.equal(typeof answer.body.id, "string");
      assert.notEqual(answer.body.id, "");
      const [frame] = await peer.waitForMessages("chat:one", 1);
      assert.deepEqual(
        { id: frame?.id, event: frame?.event, data: frame?.data },
        { id: answer.body.id, event: "said", data: { text: "hi" } },
      );
      assert.deepEqual(await storedIds(base, "chat:one"), [answer.body.id]);
    });

    test("store: false delivers live and answers an empty id, keeping nothing in history", async () => {
      const peer = await subscriber("chat:live");
      const answer = await publish(base, { topic: "chat:live", data: "typing", store: false });
      assert.deepEqual(answer.body, { id: "" });
      const [frame] = await peer.waitForMessages("chat:live", 1);
      assert.equal(frame?.data, "typing");
      assert.deepEqual(await storedIds(base, "chat:live"), []);
    });

    test("a form-encoded publish takes data as a JSON text and store as true or false", async () => {
      const peer = await subscriber("chat:form");
      const fields = new URLSearchParams({
        topic: "chat:form",
        data: '{"n":1}',
        event: "update",
        store: "true",
      });
      const answer = await call(base, "/publish", {
        token: KEY,
        body: fields.toString(),
        type: "application/x-www-form-urlencoded",
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const [frame] = await peer.waitForMessages("chat:form", 1);
      assert.deepEqual(
        { event: frame?.event, data: frame?.data },
        { event: "update", data: { n: 1 } },
      );
      const notJson = await call(base, "/publish", {
        token: KEY,
        body: "topic=chat:form&data=hello",
        type: "application/x-www-form-urlencoded",
      });
      assertProblem(notJson, 422, /data must be a JSON text/);
      const twoTopics = await call(base, "/publish", {
        token: KEY,
        body: "topic=chat:form&topic=news&data=1",
        type: "application/x-www-form-urlencoded",
      });
      assertProblem(twoTopics, 422, /"topic" is given more than once.*batch/);
      const badStore = await call(base, "/publish", {
        token: KEY,
        body: "topic=chat:form&data=1&store=yes",
        type: "application/x-www-form-urlencoded",
      });
      assertProblem(badStore, 422, /store must be true or false/);
      assert.equal((await storedIds(base, "chat:form")).length, 1);
    });

    test("POST /publish/batch publishes every message in order and answers their ids", async () => {
      const peer = await subscriber("room:batch");
      const answer = await call(base, "/publish/batch", {
        token: KEY,
        json: {
          messages: [
            { topic: "room:batch", data: 1 },
            { topic: "news", data: "headline" },
            { topic: "room:batch", data: 2, event: "second" },
          ],
        },
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const ids = answer.body.ids as string[];
      assert.equal(ids.length, 3);
      const frames = await peer.waitForMessages("room:batch", 2);
      assert.deepEqual(
        frames.map((frame) => [frame.id, frame.data]),
        [
          [ids[0], 1],
          [ids[2], 2],
        ],
      );
      assert.ok((await storedIds(base, "news")).includes(ids[1] as string));
    });

    test("a batch with one refused message publishes nothing and names its index", async () => {
      const before = await storedIds(base, "room:all");
      const refusals: [unknown, number, RegExp][] = [
        [
          { topic: "room:all", data: 2, store: "no" },
          422,
          /^messages\[1\]\.store must be true or false/,
        ],
        [{ topic: "elsewhere", data: 2 }, 404, /Unknown topic "elsewhere"/],
        [{ topic: "room:all" }, 422, /^messages\[1\]\.data is required/],
        [{ topic: "room:all", data: 2, evnt: "x" }, 422, /^messages\[1\]\.evnt is not a member/],
        ["text", 422, /^messages\[1\] must be an object/],
      ];
      for (const [second, status, detail] of refusals) {
        const answer = await call(base, "/publish/batch", {
          token: KEY,
          json: {
            messages: [{ topic: "room:all", data: 1 }, second, { topic: "room:all", data: 3 }],
          },
        });
        assertProblem(answer, status, detail);
        assert.equal(answer.body.index, 1);
      }
      const token = await jwt({ publish: ["room:all"] });
      const forbidden = await call(base, "/publish/batch", {
        token,
        json: {
          messages: [
            { topic: "room:all", data: 1 },
            { topic: "room:other", data: 2 },
          ],
        },
      });
      assertProblem(forbidden, 403, /does not allow to publish to "room:other"/);
      assert.equal(forbidden.body.index, 1);
      assert.deepEqual(await storedIds(base, "room:all"), before, "nothing was stored");
    });

    test("a batch must hold 1 to 1 000 messages, in a JSON body", async () => {
      const many = Array.from({ length: 1001 }, () => ({ topic: "news", data: 0 }));
      const options = { maxBody: 1024 * 1024 };
      const { base: roomy } = await startHub(kind.make(), options);
      assertProblem(
        await call(roomy, "/publish/batch", { token: KEY, json: { messages: many } }),
        422,
        /1 to 1000 messages, got 1001/,
      );
      assertProblem(
        await call(roomy, "/publish/batch", { token: KEY, json: { messages: [] } }),
        422,
        /1 to 1000 messages, got 0/,
      );
      assertProblem(
        await call(roomy, "/publish/batch", { token: KEY, json: { topic: "news", data: 1 } }),
        422,
        /topic is not a member of a batch/,
      );
      assertProblem(
        await call(roomy, "/publish/batch", {
          token: KEY,
          body: "topic=news&data=1",
          type: "application/x-www-form-urlencoded",
        }),
        415,
        /send application\/json$/,
      );
      assert.deepEqual(await storedIds(roomy, "news"), []);
    });

    test("history pages with after and limit, oldest first", async () => {
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) {
        ids.push((await publish(base, { topic: "room:paged", data: n })).body.id as string);
      }
      const newest = await call(base, "/topics/room:paged/history?limit=2", { token: KEY });
      assert.deepEqual(newest.body, {
        messages: [
          { id: ids[3], event: "message", data: 3 },
          { id: ids[4], event: "message", data: 4 },
        ],
      });
      const page = await call(base, `/topics/room%3Apaged/history?after=${ids[0]}&limit=2`, {
        token: KEY,
      });
      assert.deepEqual(
        (page.body.messages as { data: number }[]).map((message) => message.data),
        [1, 2],
      );
      const all = await call(base, `/topics/room:paged/history?after=${ids[2]}`, { token: KEY });
      assert.deepEqual(
        (all.body.messages as { data: number }[]).map((message) => message.data),
        [3, 4],
      );
      for (const limit of ["0", "1001", "ten", "1.5"]) {
        assertProblem(
          await call(base, `/topics/room:paged/history?limit=${limit}`, { token: KEY }),
          400,
          /limit must be a whole number from 1 to 1000/,
        );
      }
    });

    test("presence lists a subscriber that joined", async () => {
      const empty = await call(base, "/topics/room:here/presence", { token: KEY });
      assert.deepEqual(empty.body, { members: [] });
      await subscriber("room:here", true);
      await eventually(async () => {
        const answer = await call(base, "/topics/room:here/presence", { token: KEY });
        return (answer.body.members as unknown[]).length === 1;
      }, "the member listed");
      const answer = await call(base, "/topics/room:here/presence", { token: KEY });
      const [member] = answer.body.members as { clientId: string; info: unknown; since: number }[];
      assert.equal(typeof member?.clientId, "string");
      assert.equal(typeof member?.since, "number");
    });

    test("a JWT publishes where its topics claim's publish list allows, and nowhere else", async () => {
      const token = await jwt({ publish: ["chat:*"], subscribe: ["news"] });
      const allowed = await publish(base, { topic: "chat:jwt", data: 1 }, token);
      assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
      assertProblem(
        await publish(base, { topic: "news", data: 1 }, token),
        403,
        /does not allow to publish to "news"/,
      );
      // Its subscribe list is what it may read.
      assert.equal((await call(base, "/topics/news/history", { token })).status, 200);
      assert.equal((await call(base, "/topics/news/presence", { token })).status, 200);
      assertProblem(
        await call(base, "/topics/chat:jwt/history", { token }),
        403,
        /does not allow to read "chat:jwt"/,
      );
      const noClaim = await jwt(undefined);
      assertProblem(await publish(base, { topic: "chat:jwt", data: 2 }, noClaim), 403, /publish/);
      assert.equal((await storedIds(base, "chat:jwt")).length, 1);
      assert.equal((await storedIds(base, "news")).includes(String(allowed.body.id)), false);
    });

    test("401 without a token, with an unknown key, a bad or an expired JWT, with a challenge", async () => {
      const before = await storedIds(base, "news");
      const message = { topic: "news", data: "x" };
      const expired = (await signToken({ topics: { publish: ["news"] }, exp: 1000 })).token;
      const badlySigned = `${(await jwt({ publish: ["news"] })).slice(0, -4)}AAAA`;
      const cases: [string | undefined, RegExp][] = [
        [undefined, /A bearer token is required/],
        ["pk_wrong", /neither a publish key of this hub nor a JWT/],
        ["not a token", /Malformed bearer token/],
        [expired, /expired/],
        [badlySigned, /signature/],
      ];
      for (const [token, detail] of cases) {
        const answers = [
          await call(base, "/publish", { token, json: message }),
          await call(base, "/publish/batch", { token, json: { messages: [message] } }),
          await call(base, "/topics/news/history", { token }),
          await call(base, "/topics/news/presence", { token }),
        ];
        for (const answer of answers) {
          assertProblem(answer, 401, detail);
          assert.match(answer.headers.get("www-authenticate") ?? "", /^Bearer realm="hub"/);
        }
      }
      const keyOnly = await startHub(kind.make(), { jwt: undefined });
      assertProblem(
        await call(keyOnly.base, "/publish", {
          token: await jwt({ publish: ["news"] }),
          json: message,
        }),
        401,
        /not a publish key of this hub/,
      );
      assert.deepEqual(await storedIds(base, "news"), before, "nothing was stored");
    });

    test("404 for a topic the hub does not have, whatever the key or token allows", async () => {
      const token = await jwt({ publish: ["*"], subscribe: ["*"] });
      for (const credential of [KEY, token]) {
        assertProblem(
          await publish(base, { topic: "secret", data: 1 }, credential),
          404,
          /Unknown topic "secret"/,
        );
        assertProblem(
          await call(base, "/topics/secret/history", { token: credential }),
          404,
          /Unknown topic/,
        );
        assertProblem(
          await call(base, "/topics/secret/presence", { token: credential }),
          404,
          /Unknown topic/,
        );
      }
      // "chat:*" is one segment: "chat:a:b" is not a topic of this hub.
      assertProblem(await publish(base, { topic: "chat:a:b", data: 1 }), 404, /Unknown topic/);
      assert.deepEqual(await app.history("secret"), [], "nothing was stored");
    });

    test("413 for a body over maxBody, refused before it is all read", async () => {
      const before = await storedIds(base, "news");
      const big = { topic: "news", data: "x".repeat(MAX_BODY) };
      const answer = await publish(base, big);
      assertProblem(answer, 413, /larger than the limit of 4096 bytes/);
      assert.equal(answer.body.limit, MAX_BODY);
      // Chunked: no Content-Length to refuse at once; cut once past the limit.
      const chunked = await new Promise<Answer>((resolve, reject) => {
        const request = httpRequest(`${base}/publish`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        });
        request.on("error", reject);
        request.on("response", (response) => {
          let text = "";
          response.on("data", (chunk) => {
            text += chunk;
          });
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: new Headers(response.headers as Record<string, string>),
              body: JSON.parse(text),
            }),
          );
        });
        request.write('{"topic":"news","data":"');
        for (let n = 0; n < 8; n++) request.write("y".repeat(1024));
        request.end('"}');
      });
      assertProblem(chunked, 413, /larger than the limit/);
      assert.equal(chunked.headers.get("connection"), "close");
      assert.deepEqual(await storedIds(base, "news"), before, "nothing was stored");
    });

    test("415 for a body that is neither JSON nor form-encoded", async () => {
      const before = await storedIds(base, "news");
      const asText = await call(base, "/publish", {
        token: KEY,
        body: '{"topic":"news","data":1}',
        type: "text/plain",
      });
      assertProblem(asText, 415, /Content-Type text\/plain is not accepted/);
      assert.deepEqual(asText.body.accepted, [
        "application/json",
        "application/x-www-form-urlencoded",
      ]);
      const untyped = await call(base, "/publish", {
        token: KEY,
        body: '{"topic":"news","data":1}',
      });
      assert.equal(untyped.status, 415);
      assert.deepEqual(await storedIds(base, "news"), before);
    });

    test("422 for invalid JSON and for each bad member, nothing stored", async () => {
      const before = await storedIds(base, "news");
      const bodies: [string, RegExp][] = [
        ['{"topic":"news",', /not valid JSON/],
        ["", /body is empty/],
        ["[1,2]", /must be a JSON object, got an array/],
        ['{"data":1}', /^topic is required/],
        ['{"topic":"news"}', /^data is required/],
        ['{"topic":7,"data":1}', /^topic: A topic must be a non-empty string/],
        ['{"topic":"","data":1}', /^topic: A topic must be a non-empty string/],
        ['{"topic":"news","data":1,"event":"join"}', /event: The event type "join" is reserved/],
        ['{"topic":"news","data":1,"event":"a\\nb"}', /event: .*without CR or LF/],
        ['{"topic":"news","data":1,"store":"false"}', /store must be true or false, got "false"/],
        ['{"topic":"news","data":1,"dedupeKey":""}', /dedupeKey must be a non-empty string/],
        ['{"topic":"news","data":1,"evnt":"x"}', /evnt is not a member of a message/],
        ['{"topic":"news","data":{"__proto__":{"x":1}}}', /not valid JSON.*__proto__/],
      ];
      for (const [body, detail] of bodies) {
        assertProblem(
          await call(base, "/publish", { token: KEY, body, type: "application/json" }),
          422,
          detail,
        );
      }
      assert.deepEqual(await storedIds(base, "news"), before);
    });

    test("a dedupeKey makes a retried publish store once", async () => {
      const message = { topic: "room:dedupe", data: 1, dedupeKey: "order-42" };
      const first = await publish(base, message);
      const retry = await publish(base, message);
      assert.equal(retry.body.id, first.body.id);
      assert.deepEqual(await storedIds(base, "room:dedupe"), [first.body.id]);
    });
  });
}

describe("the publish rate limit", () => {
  test("past the burst a publisher gets 429 with Retry-After, and publishes again once refilled", async () => {
    const { base } = await startHub(memoryBroker(), { publishRate: { burst: 3, perSecond: 2 } });
    for (let n = 0; n < 3; n++)
      assert.equal((await publish(base, { topic: "news", data: n })).status, 200);
    const refused = await publish(base, { topic: "news", data: "storm" });
    assertProblem(refused, 429, /2 messages a second after a burst of 3; retry in 1 s/);
    assert.equal(refused.headers.get("retry-after"), "1");
    // Another key has a bucket of its own.
    assert.equal((await publish(base, { topic: "news", data: "other" }, OTHER_KEY)).status, 200);
    await sleep(600);
    assert.equal((await publish(base, { topic: "news", data: "later" })).status, 200);
    const stored = await call(base, "/topics/news/history", { token: OTHER_KEY });
    assert.deepEqual(
      (stored.body.messages as { data: unknown }[]).map((message) => message.data),
      [0, 1, 2, "other", "later"],
      "nothing refused was stored",
    );
  });

  test("a batch spends one token per message, leaving the publisher in debt", async () => {
    const { base } = await startHub(memoryBroker(), { publishRate: { burst: 2, perSecond: 4 } });
    const messages = Array.from({ length: 10 }, (_, n) => ({ topic: "news", data: n }));
    assert.equal(
      (await call(base, "/publish/batch", { token: KEY, json: { messages } })).status,
      200,
    );
    const refused = await publish(base, { topic: "news", data: "next" });
    assertProblem(refused, 429, /retry in 3 s/);
    assert.equal(refused.headers.get("retry-after"), "3");
  });

  test("a perSecond of Infinity turns the limit off", async () => {
    const rate = { burst: 1, perSecond: Number.POSITIVE_INFINITY };
    const { base } = await startHub(memoryBroker(), { publishRate: rate });
    for (let n = 0; n < 5; n++) {
      assert.equal((await publish(base, { topic: "news", data: n })).status, 200);
    }
  });

  test("a JWT publisher is counted by its issuer and subject", async () => {
    const { base } = await startHub(memoryBroker(), { publishRate: { burst: 1, perSecond: 1 } });
    const ada = await jwt({ publish: ["news"] }, { sub: "ada" });
    const adaAgain = await jwt({ publish: ["news"] }, { sub: "ada", jti: "2" });
    const bob = await jwt({ publish: ["news"] }, { sub: "bob" });
    assert.equal((await publish(base, { topic: "news", data: 1 }, ada)).status, 200);
    assert.equal((await publish(base, { topic: "news", data: 2 }, adaAgain)).status, 429);
    assert.equal((await publish(base, { topic: "news", data: 3 }, bob)).status, 200);
  });
});

describe("broker failures", () => {
  test("503 with Retry-After when Redis is down: nothing stored, and publishes work again after", async () => {
    const own = await RedisServer.start();
    after(() => own.stop());
    const broker = redisBroker({
      url: own.url,
      prefix: "hub-outage:",
      redis: { commandTimeout: 500 },
    });
    const { base } = await startHub(broker);
    assert.equal((await publish(base, { topic: "news", data: "before" })).status, 200);
    await own.stop();
    const down = await publish(base, { topic: "news", data: "during" });
    assertProblem(down, 503, /broker is unavailable/);
    assert.equal(down.headers.get("retry-after"), "5");
    const batch = await call(base, "/publish/batch", {
      token: KEY,
      json: { messages: [{ topic: "news", data: "during" }] },
    });
    assertProblem(batch, 503, /no message was stored/);
    assert.deepEqual(batch.body.ids, []);
    assertProblem(await call(base, "/topics/news/history", { token: KEY }), 503, /unavailable/);
    assertProblem(await call(base, "/topics/news/presence", { token: KEY }), 503, /unavailable/);
    await own.start();
    await eventually(
      async () => (await publish(base, { topic: "news", data: "after" })).status === 200,
      "a publish accepted again",
      10_000,
    );
    const stored = await call(base, "/topics/news/history", { token: KEY });
    const data = (stored.body.messages as { data: unknown }[]).map((message) => message.data);
    assert.equal(data.includes("during"), false, "nothing published while Redis was down");
  });

  test("a batch cut by a broker outage answers 503 with the ids stored so far", async () => {
    const { base } = await startHub(new FailingBroker(memoryBroker(), 2));
    const answer = await call(base, "/publish/batch", {
      token: KEY,
      json: { messages: [0, 1, 2, 3].map((n) => ({ topic: "news", data: n })) },
    });
    assertProblem(answer, 503, /at messages\[2\]: messages\[0\] to \[1\] were stored/);
    assert.equal(answer.body.index, 2);
    assert.deepEqual(answer.body.ids, await storedIds(base, "news"));
    assert.equal((answer.body.ids as string[]).length, 2);
  });
});

/** A broker whose publishes fail as a Redis outage does, from the `failFrom`-th (0-based) on. */
class FailingBroker implements Broker {
  #publishes = 0;

  constructor(
    private readonly inner: Broker,
    private readonly failFrom: number,
  ) {}

  publish(...args: Parameters<Broker["publish"]>): Promise<string> {
    if (this.#publishes++ >= this.failFrom) {
      return Promise.reject(new BrokerUnavailableError("Redis is unavailable (played)"));
    }
    return this.inner.publish(...args);
  }
  history(topic: string, query: Parameters<Broker["history"]>[1]): Promise<StoredMessage[]> {
    return this.inner.history(topic, query);
  }
  replay(...args: Parameters<Broker["replay"]>) {
    return this.inner.replay(...args);
  }
  subscribe(...args: Parameters<Broker["subscribe"]>) {
    return this.inner.subscribe(...args);
  }
  compareIds(a: string, b: string): number {
    return this.inner.compareIds(a, b);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
