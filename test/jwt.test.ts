import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPublicKey, createSecretKey } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from "jose";
import WebSocket from "ws";
import { type App, HttpResponse } from "../src/index.js";
import { type JwtAuthOptions, jwtAuth } from "../src/jwt/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { type Credentials, serve, viaHttp, ways } from "./support/auth-routes.js";
import { within } from "./support/wait.js";

const ISSUER = "https://issuer.test/";
const AUDIENCE = "sluice-tests";
const SECRET = "a-test-secret-that-is-32-bytes-long!";

/** A bearer token, as every route kind receives it. */
function bearer(token: string): Credentials {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function serveJwt(options: JwtAuthOptions): Promise<TestClient> {
  return serve(jwtAuth(options));
}

async function assertAccepted(client: TestClient, token: string, claims: JWTPayload) {
  for (const [name, via, ok] of ways) {
    const outcome = await via(client, bearer(token));
    assert.equal(outcome.status, ok, `${name}: ${outcome.message}`);
    for (const [claim, value] of Object.entries(claims)) {
      assert.deepEqual(
        (outcome.auth as JWTPayload | undefined)?.[claim],
        value,
        `${name}: ${claim}`,
      );
    }
  }
}

/** 401 everywhere, with `error="invalid_token"` and the description matching `description`. */
async function assertInvalid(client: TestClient, token: string, description: RegExp) {
  for (const [name, via] of ways) {
    const outcome = await via(client, bearer(token));
    assert.equal(outcome.status, 401, `${name}: ${JSON.stringify(outcome)}`);
    assert.match(
      outcome.challenge ?? "",
      /^Bearer realm="api", error="invalid_token", error_description="(?:[^"\\]|\\.)+"$/,
      name,
    );
    assert.match(outcome.challenge ?? "", description, name);
    assert.match(outcome.message ?? "", description, name);
  }
}

function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: JWTPayload = {},
  options: { kid?: string; expires?: number | string; issuer?: string; audience?: string } = {},
): Promise<string> {
  return new SignJWT({ sub: "ada", ...claims })
    .setProtectedHeader({ alg, typ: "JWT", ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expires ?? "5m")
    .sign(key);
}

/** An unsigned token (`alg: none`), which must never be accepted. */
function unsigned(claims: JWTPayload): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  const now = Math.floor(Date.now() / 1000);
  return `${encode({ alg: "none", typ: "JWT" })}.${encode({ sub: "ada", iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })}.`;
}

/** The token with one character of its signature changed. */
function tampered(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

/** The token with its payload replaced and the old signature kept. */
function forged(token: string, claims: JWTPayload): string {
  const [header, payload, signature] = token.split(".");
  const changed = { ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), ...claims };
  return `${header}.${base64url.encode(JSON.stringify(changed))}.${signature}`;
}

const secret = new TextEncoder().encode(SECRET);
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey; pem: string };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };

before(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  rsa = { ...pair, pem: await exportSPKI(pair.publicKey) };
  ec = await generateKeyPair("ES256", { extractable: true });
});

describe("jwtAuth with an HS256 secret", () => {
  const options: JwtAuthOptions = {
    secret: SECRET,
    algorithms: ["HS256"],
    issuer: ISSUER,
    audience: AUDIENCE,
  };

  test("a valid token passes on HTTP, SSE and the WebSocket upgrade; the payload is req.state.auth", async () => {
    await using client = await serveJwt(options);
    await assertAccepted(client, await sign(secret, "HS256", { role: "admin" }), {
      sub: "ada",
      role: "admin",
      iss: ISSUER,
      aud: AUDIENCE,
    });
  });

  test("expired, not yet valid, wrong issuer or audience, tampered: 401 invalid_token", async () => {
    await using client = await serveJwt(options);
    const past = Math.floor(Date.now() / 1000) - 60;
    await assertInvalid(client, await sign(secret, "HS256", {}, { expires: past }), /expired/);
    await assertInvalid(client, await sign(secret, "HS256", { nbf: past + 3600 }), /not valid yet/);
    await assertInvalid(
      client,
      await sign(secret, "HS256", {}, { issuer: "https://evil.test/" }),
      /iss claim/,
    );
    await assertInvalid(
      client,
      await sign(secret, "HS256", {}, { audience: "another-api" }),
      /aud claim/,
    );
    const good = await sign(secret, "HS256");
    await assertInvalid(client, tampered(good), /signature/);
    await assertInvalid(client, forged(good, { sub: "root" }), /signature/);
    const otherSecret = new TextEncoder().encode("another-secret-that-is-32-bytes-long");
    await assertInvalid(client, await sign(otherSecret, "HS256"), /signature/);
    await assertInvalid(client, "not-a-jwt", /malformed/);
    await assertInvalid(client, "a.b.c", /malformed/);
    // The process is still up and still accepts good tokens.
    await assertAccepted(client, good, { sub: "ada" });
  });

  test("an alg:none token and a token in another HMAC size are refused", async () => {
    await using client = await serveJwt(options);
    await assertInvalid(client, unsigned({}), /algorithm/);
    await assertInvalid(client, await sign(secret, "HS512"), /algorithm/);
  });

  test("clockTolerance lets a just-expired token through", async () => {
    const justExpired = await sign(
      secret,
      "HS256",
      {},
      { expires: Math.floor(Date.now() / 1000) - 10 },
    );
    await using strict = await serveJwt(options);
    await assertInvalid(strict, justExpired, /expired/);
    await using lenient = await serveJwt({ ...options, clockTolerance: 60 });
    await assertAccepted(lenient, justExpired, { sub: "ada" });
  });

  test("missing and malformed credentials are refused before jose is asked", async () => {
    await using client = await serveJwt(options);
    const missing = await viaHttp(client, bearer(""));
    assert.equal(missing.status, 401);
    const none = await client.get("/me");
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers["www-authenticate"], 'Bearer realm="api"');
    const spaced = await client.get("/me", { headers: { authorization: "Bearer a.b c" } });
    assert.equal(spaced.statusCode, 401);
    assert.match(String(spaced.headers["www-authenticate"]), /error="invalid_request"/);
  });
});

describe("jwtAuth with a public key", () => {
  test("RS256 with a PEM, a CryptoKey or a JWK; an HS256 token signed with the public key is refused", async () => {
    for (const publicKey of [rsa.pem, rsa.publicKey, await exportJWK(rsa.publicKey)]) {
      await using client = await serveJwt({ publicKey, algorithms: ["RS256"], issuer: ISSUER });
      const good = await sign(rsa.privateKey, "RS256");
      await assertAccepted(client, good, { sub: "ada" });
      // The confusion attack: HS256 "signed" with the public key text as the secret.
      const confused = await sign(new TextEncoder().encode(rsa.pem), "HS256");
      await assertInvalid(client, confused, /algorithm/);
      await assertInvalid(client, unsigned({}), /algorithm/);
      await assertInvalid(client, tampered(good), /signature/);
      await assertInvalid(client, await sign(ec.privateKey, "ES256"), /algorithm/);
      const expired = await sign(rsa.privateKey, "RS256", {}, { expires: 1 });
      await assertInvalid(client, expired, /expired/);
    }
  });

  test("ES256 with a PEM", async () => {
    await using client = await serveJwt({
      publicKey: await exportSPKI(ec.publicKey),
      algorithms: ["ES256"],
      audience: AUDIENCE,
    });
    await assertAccepted(client, await sign(ec.privateKey, "ES256"), { sub: "ada" });
    await assertInvalid(client, await sign(rsa.privateKey, "RS256"), /algorithm/);
  });

  test("the token can come from the WebSocket subprotocol list of a real ws client", async () => {
    await using client = await serveJwt({
      publicKey: rsa.pem,
      algorithms: ["RS256"],
      subprotocol: "bearer",
    });
    const url = `${client.url.replace(/^http/, "ws")}/ws`;
    const token = await sign(rsa.privateKey, "RS256");
    const ws = new WebSocket(url, ["bearer", token]);
    const welcome = once(ws, "message");
    await within(once(ws, "open"), "the handshake");
    assert.equal(ws.protocol, "bearer");
    const [message] = await within(welcome, "the welcome");
    assert.equal(JSON.parse(String(message)).auth.sub, "ada");
    ws.close();
    await once(ws, "close");

    const refused = new WebSocket(url, ["bearer", tampered(token)]);
    refused.on("error", () => {});
    const [, response] = await within(once(refused, "unexpected-response"), "the refusal");
    assert.equal(response.statusCode, 401);
    assert.match(response.headers["www-authenticate"], /error="invalid_token"/);
    refused.terminate();
  });

  test("options are checked when the middleware is made", () => {
    const pem = () => rsa.pem;
    assert.throws(() => jwtAuth({ publicKey: pem() } as never), /algorithms is required/);
    assert.throws(() => jwtAuth({ publicKey: pem(), algorithms: [] }), /algorithms is required/);
    assert.throws(() => jwtAuth({ publicKey: pem(), algorithms: ["none"] }), /none/);
    assert.throws(() => jwtAuth({ publicKey: pem(), algorithms: ["RS265"] }), /unknown/);
    assert.throws(() => jwtAuth({ publicKey: pem(), algorithms: ["HS256"] }), /needs a secret/);
    assert.throws(() => jwtAuth({ publicKey: pem(), algorithms: ["ES256"] }), /cannot verify/);
    assert.throws(() => jwtAuth({ secret: SECRET, algorithms: ["RS256"] }), /HS256/);
    assert.throws(() => jwtAuth({ secret: "short", algorithms: ["HS256"] }), /at least 32/);
    assert.throws(() => jwtAuth({ secret: SECRET, algorithms: ["HS512"] }), /at least 64/);
    assert.throws(() => jwtAuth({ algorithms: ["RS256"] }), /exactly one/);
    assert.throws(
      () => jwtAuth({ secret: SECRET, publicKey: pem(), algorithms: ["HS256"] }),
      /exactly one/,
    );
    assert.throws(() => jwtAuth({ publicKey: "garbage", algorithms: ["RS256"] }), /publicKey/);
    assert.throws(() => jwtAuth({ jwksUrl: "ftp://x/jwks", algorithms: ["RS256"] }), /http/);
    assert.throws(() => jwtAuth({ publicKey: rsa.privateKey, algorithms: ["RS256"] }), /public/);
  });

  test("a secret that is key material (PEM, DER, JWK, a key object) is refused at creation: the key-confusion footgun", async () => {
    const jwk = await exportJWK(rsa.publicKey);
    const der = rsa.pem.replace(/-----[A-Z ]+-----|\s/g, "");
    const ecPem = await exportSPKI(ec.publicKey);
    const privatePem = await exportPKCS8(rsa.privateKey);
    const keyMaterial: [string, unknown][] = [
      ["an RSA public key PEM", rsa.pem],
      ["the PEM with blank lines around it", `\n\n${rsa.pem}\n`],
      ["an EC public key PEM", ecPem],
      ["a private key PEM", privatePem],
      ["the PEM as bytes", new TextEncoder().encode(rsa.pem)],
      ["the PEM as a secret KeyObject", createSecretKey(Buffer.from(rsa.pem))],
      ["a base64 DER public key", der],
      ["a JWK as JSON text", JSON.stringify(jwk)],
      ["a JWK object", jwk],
      ["an oct JWK as JSON text", JSON.stringify({ kty: "oct", k: base64url.encode(SECRET) })],
      ["a public KeyObject", createPublicKey(rsa.pem)],
      ["a public CryptoKey", rsa.publicKey],
    ];
    for (const [what, secret] of keyMaterial) {
      assert.throws(
        () => jwtAuth({ secret: secret as string, algorithms: ["HS256"] }),
        (error: Error) =>
          error instanceof TypeError &&
          /^jwtAuth: secret looks like a key \(PEM, DER or JWK\)/.test(error.message) &&
          /publicKey/.test(error.message),
        what,
      );
    }
    // Ordinary secrets, including ones with braces, dashes or base64, are still accepted.
    for (const secret of [
      SECRET,
      `{${SECRET}}`,
      '{"not":"a jwk","padding":"to 32 bytes"}',
      "-----not-a-pem-but-long-enough-----",
      base64url.encode(new Uint8Array(48).fill(7)),
      Buffer.from(new Uint8Array(32).fill(0x2d)).toString("base64"),
      `MI${"A".repeat(40)}`,
      new Uint8Array(32).fill(1),
    ]) {
      jwtAuth({ secret, algorithms: ["HS256"] });
    }
  });
});

describe("jwtAuth with a JWKS", () => {
  let jwksApp: App;
  let jwksClient: TestClient;
  let served: { keys: unknown[] } | "broken" = { keys: [] };
  let fetches = 0;
  const keys: Record<string, { privateKey: CryptoKey; jwk: Record<string, unknown> }> = {};

  before(async () => {
    for (const kid of ["k1", "k2", "k3"]) {
      const pair = await generateKeyPair("RS256", { extractable: true });
      keys[kid] = {
        privateKey: pair.privateKey,
        jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" },
      };
    }
    jwksApp = quietApp();
    jwksApp.get("/jwks.json", () => {
      fetches++;
      return served === "broken" ? HttpResponse.text("oops", { statusCode: 500 }) : served;
    });
    jwksClient = await TestClient.start(jwksApp);
  });
  after(() => jwksClient.close());

  const jwksOptions = (extra: Partial<JwtAuthOptions> = {}): JwtAuthOptions => ({
    jwksUrl: `${jwksClient.url}/jwks.json`,
    algorithms: ["RS256"],
    issuer: ISSUER,
    audience: AUDIENCE,
    ...extra,
  });

  test("keys are fetched from the JWKS and chosen by kid; rotation; an unknown kid is 401", async () => {
    served = { keys: [keys.k1.jwk] };
    fetches = 0;
    await using client = await serveJwt(jwksOptions({ jwks: { cooldownDuration: 0 } }));
    const one = await sign(keys.k1.privateKey, "RS256", {}, { kid: "k1" });
    await assertAccepted(client, one, { sub: "ada" });
    assert.equal(fetches, 1, "the key set is cached");

    // Rotation: the issuer now publishes k2 only; a k2 token makes the set reload.
    served = { keys: [keys.k2.jwk] };
    const two = await sign(keys.k2.privateKey, "RS256", {}, { kid: "k2" });
    await assertAccepted(client, two, { sub: "ada" });
    assert.equal(fetches, 2);
    await assertInvalid(client, one, /No key/);
    await assertInvalid(
      client,
      await sign(keys.k3.privateKey, "RS256", {}, { kid: "k3" }),
      /No key/,
    );
    // A kid that is published, but the token was signed by another key.
    await assertInvalid(
      client,
      await sign(keys.k1.privateKey, "RS256", {}, { kid: "k2" }),
      /signature/,
    );
    await assertInvalid(client, unsigned({}), /algorithm/);
    await assertInvalid(client, await sign(secret, "HS256", {}, { kid: "k2" }), /algorithm/);
    await assertAccepted(client, two, { sub: "ada" });
  });

  test("an unknown kid during the cooldown is 401 without another fetch", async () => {
    served = { keys: [keys.k1.jwk] };
    fetches = 0;
    await using client = await serveJwt(jwksOptions());
    await assertAccepted(client, await sign(keys.k1.privateKey, "RS256", {}, { kid: "k1" }), {
      sub: "ada",
    });
    const unknown = await sign(keys.k3.privateKey, "RS256", {}, { kid: "k3" });
    await assertInvalid(client, unknown, /No key/);
    assert.equal(fetches, 1);
  });

  test("a JWKS that cannot be fetched is 503, not 401 or 500, and the app recovers", async () => {
    const token = await sign(keys.k1.privateKey, "RS256", {}, { kid: "k1" });
    served = "broken";
    await using client = await serveJwt(jwksOptions({ jwks: { cooldownDuration: 0 } }));
    for (const [name, via] of ways) {
      const outcome = await via(client, bearer(token));
      assert.equal(outcome.status, 503, `${name}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.challenge, undefined);
    }
    served = { keys: [keys.k1.jwk] };
    await assertAccepted(client, token, { sub: "ada" });

    // Nobody listening at all.
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, "close");
    await using unreachable = await serveJwt(
      jwksOptions({ jwksUrl: `http://127.0.0.1:${port}/k` }),
    );
    const outcome = await viaHttp(unreachable, bearer(token));
    assert.equal(outcome.status, 503, JSON.stringify(outcome));
  });
});

describe("sluice/jwt is the only entry point that loads jose", () => {
  const exec = promisify(execFile);
  // A resolve hook that makes any import of jose fail, registered after tsx's own.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === "jose" || specifier.startsWith("jose/")) throw new Error("jose was imported");
    return next(specifier, context);
  }`;
  const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;

  async function importsCleanly(file: string): Promise<boolean> {
    const url = pathToFileURL(new URL(`../src/${file}`, import.meta.url).pathname).href;
    try {
      await exec(process.execPath, [
        "--import",
        "tsx",
        "--import",
        `data:text/javascript,${encodeURIComponent(register)}`,
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(url)});`,
      ]);
      return true;
    } catch (error) {
      assert.match(String((error as { stderr?: string }).stderr), /jose was imported/);
      return false;
    }
  }

  test("sluice (with its auth middleware) and sluice/testing do not import jose; sluice/jwt does", async () => {
    assert.equal(await importsCleanly("index.ts"), true);
    assert.equal(await importsCleanly("testing/index.ts"), true);
    assert.equal(await importsCleanly("jwt/index.ts"), false, "the hook does catch jose");
  });
});
