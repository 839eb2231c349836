import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { apiKeyAuth, bearerAuth, HttpError } from "../src/index.js";
import type { TestClient } from "../src/testing/index.js";
import { type Credentials, everyWay, serve, viaHttp, viaWebSocket } from "./support/auth-routes.js";
import { within } from "./support/wait.js";

async function assertAccepted(client: TestClient, credentials: Credentials, auth: unknown) {
  for (const [name, outcome, ok] of await everyWay(client, credentials)) {
    assert.equal(outcome.status, ok, `${name}: ${outcome.message}`);
    assert.deepEqual(outcome.auth, auth, name);
  }
}

async function assertRefused(
  client: TestClient,
  credentials: Credentials,
  challenge: string,
  message?: RegExp,
) {
  for (const [name, outcome] of await everyWay(client, credentials)) {
    assert.equal(outcome.status, 401, `${name}: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.challenge, challenge, name);
    if (message) assert.match(outcome.message ?? "", message, name);
  }
}

const users: Record<string, { user: string }> = { "good.token-1": { user: "ada" } };
const lookup = (token: string) => users[token];
const bearer = (value: string) => ({ headers: { authorization: value } });

describe("bearerAuth", () => {
  test("a valid token passes on HTTP, SSE and the WebSocket upgrade, verify's answer in req.state.auth", async () => {
    const seen: string[] = [];
    await using client = await serve(
      bearerAuth({
        verify: (token, req) => {
          seen.push(`${req.path}:${token}`);
          return lookup(token);
        },
      }),
    );
    await assertAccepted(client, bearer("Bearer good.token-1"), { user: "ada" });
    assert.deepEqual(seen, ["/me:good.token-1", "/events:good.token-1", "/ws:good.token-1"]);
    // The scheme is case-insensitive and may be followed by more than one space (RFC 6750 1*SP).
    await assertAccepted(client, bearer("bearer   good.token-1"), { user: "ada" });
  });

  test("missing or other-scheme credentials get the bare challenge", async () => {
    let verified = 0;
    await using client = await serve(
      bearerAuth({
        realm: "sluice tests",
        verify: (token) => {
          verified++;
          return lookup(token);
        },
      }),
    );
    const bare = 'Bearer realm="sluice tests"';
    await assertRefused(client, {}, bare, /bearer token is required/);
    await assertRefused(client, bearer("Basic YWRhOnB3"), bare);
    await assertRefused(client, bearer("Token good.token-1"), bare);
    assert.equal(verified, 0, "verify is not asked without a bearer token");
    await assertAccepted(client, bearer("Bearer good.token-1"), { user: "ada" });
  });

  test("malformed bearer credentials are 401 invalid_request, never 500", async () => {
    let verified = 0;
    await using client = await serve(
      bearerAuth({
        verify: (token) => {
          verified++;
          return lookup(token);
        },
      }),
    );
    const cases: [string, RegExp][] = [
      ["Bearer", /without a token/],
      ["Bearer good.token-1 extra", /Malformed/],
      ["Bearer good token-1", /Malformed/],
      ["Bearer\tgood.token-1", /Malformed/],
      ["Bearer good.token-1,", /Malformed/],
      ["Bearer tok=en", /Malformed/],
    ];
    for (const [header, message] of cases) {
      for (const [name, outcome] of await everyWay(client, bearer(header))) {
        assert.equal(outcome.status, 401, `${name} ${header}`);
        assert.match(outcome.challenge ?? "", /^Bearer realm="api", error="invalid_request"/);
        assert.match(outcome.message ?? "", message, `${name} ${header}`);
      }
    }
    assert.equal(verified, 0);
    await assertAccepted(client, bearer("Bearer good.token-1"), { user: "ada" });
  });

  test("a token verify refuses (falsy or thrown) is 401 invalid_token", async () => {
    await using client = await serve(
      bearerAuth({
        verify: (token) => {
          if (token === "throws") throw new Error("database says no");
          if (token === "zero") return 0;
          return lookup(token);
        },
      }),
    );
    const invalid = 'Bearer realm="api", error="invalid_token"';
    for (const token of ["wrong", "throws", "zero", "good.token-10", "good.token-"]) {
      await assertRefused(client, bearer(`Bearer ${token}`), invalid, /not valid/);
    }
    await assertAccepted(client, bearer("Bearer good.token-1"), { user: "ada" });
  });

  test("an HttpError from verify: a 401 gets the challenge and its message, others pass as they are", async () => {
    await using client = await serve(
      bearerAuth({
        verify: (token) => {
          if (token === "revoked") throw new HttpError(401, 'Token "revoked"');
          if (token === "readonly") throw new HttpError(403, "Read-only token");
          return lookup(token);
        },
      }),
    );
    await assertRefused(
      client,
      bearer("Bearer revoked"),
      'Bearer realm="api", error="invalid_token", error_description="Token \\"revoked\\""',
      /Token "revoked"/,
    );
    for (const [name, outcome] of await everyWay(client, bearer("Bearer readonly"))) {
      assert.equal(outcome.status, 403, name);
      assert.equal(outcome.challenge, undefined, name);
      assert.equal(outcome.message, "Read-only token", name);
    }
  });

  test("the query parameter is read only when enabled, and one way only", async () => {
    await using off = await serve(bearerAuth({ verify: lookup }));
    await assertRefused(off, { query: { access_token: "good.token-1" } }, 'Bearer realm="api"');

    await using on = await serve(bearerAuth({ verify: lookup, queryParam: "access_token" }));
    await assertAccepted(on, { query: { access_token: "good.token-1" } }, { user: "ada" });
    await assertRefused(
      on,
      { query: { access_token: "wrong" } },
      'Bearer realm="api", error="invalid_token"',
    );
    await assertRefused(
      on,
      { ...bearer("Bearer good.token-1"), query: { access_token: "good.token-1" } },
      'Bearer realm="api", error="invalid_request", error_description="Send the bearer token one way only"',
    );
    // `+` in a query string is a space: a token sent unencoded is malformed, not another token.
    const spaced = await viaHttp(on, { query: { access_token: "good token" } });
    assert.equal(spaced.status, 401);
    assert.match(spaced.challenge ?? "", /invalid_request/);
  });

  test("the subprotocol list carries the token; the route selects the marker, never the token", async () => {
    await using client = await serve(bearerAuth({ verify: lookup, subprotocol: "bearer" }));
    const viaTestClient = await viaWebSocket(client, { protocols: ["bearer", "good.token-1"] });
    assert.equal(viaTestClient.status, 101);
    assert.deepEqual(viaTestClient.auth, { user: "ada" });
    assert.equal(viaTestClient.protocol, "bearer");

    // A plain `ws` client, as a browser would do it: new WebSocket(url, ["bearer", token]).
    const url = `${client.url.replace(/^http/, "ws")}/ws`;
    const ws = new WebSocket(url, ["bearer", "good.token-1"]);
    const welcome = once(ws, "message"); // may come in the same read as the 101
    const [upgrade] = (await within(once(ws, "upgrade"), "the 101")) as [IncomingMessage];
    assert.equal(upgrade.headers["sec-websocket-protocol"], "bearer");
    const [message] = await within(welcome, "the welcome");
    assert.deepEqual(JSON.parse(String(message)), { auth: { user: "ada" }, protocol: "bearer" });
    assert.equal(ws.protocol, "bearer");
    ws.close();
    await once(ws, "close");

    const refused = new WebSocket(url, ["bearer", "wrong"]);
    refused.on("error", () => {}); // ws reports the refusal as an error too
    const [, response] = (await within(once(refused, "unexpected-response"), "the refusal")) as [
      unknown,
      IncomingMessage,
    ];
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers["www-authenticate"], 'Bearer realm="api", error="invalid_token"');
    refused.terminate();

    // The marker without the token after it.
    const bare = await viaWebSocket(client, { protocols: ["bearer"] });
    assert.equal(bare.status, 401);
    assert.match(bare.challenge ?? "", /error="invalid_request"/);
    // Offered protocols on a plain HTTP request mean nothing.
    const http = await viaHttp(client, {
      headers: { "sec-websocket-protocol": "bearer, good.token-1" },
    });
    assert.equal(http.status, 401);
    assert.equal(http.challenge, 'Bearer realm="api"');
  });

  test("a route speaking its own protocol selects it; one that does not list the marker fails the client", async () => {
    await using client = await serve(bearerAuth({ verify: lookup, subprotocol: "bearer" }), {
      protocols: ["chat.v1", "bearer"],
    });
    const chat = await viaWebSocket(client, { protocols: ["chat.v1", "bearer", "good.token-1"] });
    assert.equal(chat.status, 101);
    assert.equal(chat.protocol, "chat.v1");
    assert.deepEqual(chat.auth, { user: "ada" });

    // Why the route must list the marker: a client that offered protocols and got none back fails.
    await using unlisted = await serve(bearerAuth({ verify: lookup, subprotocol: "bearer" }), {});
    const ws = new WebSocket(`${unlisted.url.replace(/^http/, "ws")}/ws`, [
      "bearer",
      "good.token-1",
    ]);
    const [error] = await within(once(ws, "error"), "the client's failure");
    assert.match(String(error), /Server sent no subprotocol/);
  });

  test("options are checked when the middleware is made", () => {
    const verify = () => true;
    assert.throws(() => bearerAuth({} as never), /verify must be a function/);
    assert.throws(() => bearerAuth({ verify, realm: "a\r\nb" }), /realm/);
    assert.throws(() => bearerAuth({ verify, queryParam: "" }), /queryParam/);
    assert.throws(() => bearerAuth({ verify, subprotocol: "bad marker" }), /subprotocol/);
  });
});

describe("apiKeyAuth", () => {
  const keyed = (key: string) => ({ headers: { "x-api-key": key } });
  const challenge = 'ApiKey realm="api", header="x-api-key"';
  const wrong = 'ApiKey realm="api", header="x-api-key", error="invalid_key"';

  test("a listed key passes everywhere; missing, wrong or near-miss keys are 401", async () => {
    await using client = await serve(apiKeyAuth({ keys: ["key-one", "key-two"] }));
    await assertAccepted(client, keyed("key-two"), { keyIndex: 1 });
    await assertRefused(client, {}, challenge, /API key is required/);
    await assertRefused(client, keyed(""), challenge);
    for (const key of ["key-three", "key-tw", "key-two2", "KEY-TWO", "x"]) {
      await assertRefused(client, keyed(key), wrong, /not valid/);
    }
    await assertAccepted(client, keyed("key-one"), { keyIndex: 0 });
  });

  test("a Map gives each key its principal; a custom header and query parameter", async () => {
    await using client = await serve(
      apiKeyAuth({
        keys: new Map([["partner-key", { client: "partner" }]]),
        header: "X-Partner-Key",
        queryParam: "api_key",
      }),
    );
    await assertAccepted(
      client,
      { headers: { "x-partner-key": "partner-key" } },
      {
        client: "partner",
      },
    );
    await assertAccepted(client, { query: { api_key: "partner-key" } }, { client: "partner" });
    // The default header is not read once another is chosen.
    await assertRefused(
      client,
      { headers: { "x-api-key": "partner-key" } },
      'ApiKey realm="api", header="x-partner-key"',
    );
    await assertRefused(
      client,
      { headers: { "x-partner-key": "partner-key" }, query: { api_key: "partner-key" } },
      'ApiKey realm="api", header="x-partner-key", error="invalid_request"',
      /one way only/,
    );
  });

  test("verify decides: truthy passes, falsy or thrown is 401, an HttpError passes as is", async () => {
    await using client = await serve(
      apiKeyAuth({
        verify: async (key) => {
          if (key === "boom") throw new Error("lookup failed");
          if (key === "banned") throw new HttpError(403, "Banned");
          return key === "k-123" && { tenant: "t1" };
        },
      }),
    );
    await assertAccepted(client, keyed("k-123"), { tenant: "t1" });
    await assertRefused(client, keyed("k-124"), wrong);
    await assertRefused(client, keyed("boom"), wrong);
    for (const [name, outcome] of await everyWay(client, keyed("banned"))) {
      assert.equal(outcome.status, 403, name);
    }
  });

  test("options are checked when the middleware is made", () => {
    assert.throws(() => apiKeyAuth({}), /either keys or verify/);
    assert.throws(() => apiKeyAuth({ keys: ["a"], verify: () => true }), /either keys or verify/);
    assert.throws(() => apiKeyAuth({ keys: [] }), /empty/);
    assert.throws(() => apiKeyAuth({ keys: ["a", ""] }), /non-empty/);
    assert.throws(() => apiKeyAuth({ keys: new Map([["a", null]]) }), /truthy/);
    assert.throws(() => apiKeyAuth({ keys: ["a"], header: "bad header" }), /header/);
  });
});
