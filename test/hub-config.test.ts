// `sluice hub`'s configuration (src/hub/hub-config.ts): every flag, SLUICE_* variable and
// config file key read, their precedence, and a refusal naming the key and its source for
// every value that cannot run.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { describe, test } from "node:test";
import { ANY_TOPIC, hubConfig } from "../src/hub/hub-config.js";
import { HubConfigError } from "../src/hub/hub-config-error.js";
import type { HubOptions } from "../src/hub/hub-options.js";
import { HUB_SETTINGS } from "../src/hub/hub-settings.js";
import { matchesTopicPattern } from "../src/topics/topic-pattern.js";

const KEY = "0123456789abcdef-key";
const KEY2 = "fedcba9876543210-key";
const SECRET = "a-shared-secret-of-32-bytes-ok!!";

/** The config read from a file holding `content` (any name), plus flags and variables. */
function withFile(
  content: unknown,
  argv: string[] = [],
  env: Record<string, string> = {},
): HubOptions {
  const text = typeof content === "string" ? content : JSON.stringify(content);
  return hubConfig(["--config", "hub.json", ...argv], env, (path) => {
    assert.equal(path, "hub.json");
    return text;
  });
}

/** Asserts that reading the config throws a HubConfigError whose message matches. */
function refused(read: () => unknown, message: RegExp): void {
  assert.throws(read, (error: unknown) => {
    assert.ok(error instanceof HubConfigError, `a HubConfigError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("hubConfig: defaults and every setting", () => {
  test("with only a publish key, every other setting has its default", () => {
    const options = hubConfig(["--publish-key", KEY], {});
    assert.deepEqual(options, {
      port: 8080,
      host: "0.0.0.0",
      redis: undefined,
      history: 1000,
      jwt: undefined,
      publishKeys: [KEY],
      corsOrigins: [],
      topics: ANY_TOPIC,
      maxConnections: undefined,
      maxConnectionsPerIp: undefined,
      clientIpHeader: undefined,
      workers: 1,
      maxBody: 1024 * 1024,
      publishRate: { burst: 200, perSecond: 100 },
    });
    assert.ok(Object.isFrozen(options));
  });

  test("the default topics are every topic of 1 to 16 parts", () => {
    const any = (topic: string) => ANY_TOPIC.some((pattern) => matchesTopicPattern(pattern, topic));
    for (const topic of ["news", "chat:lobby", "a:b:c", Array(16).fill("x").join(":")]) {
      assert.ok(any(topic), topic);
    }
    assert.ok(!any(Array(17).fill("x").join(":")));
  });

  const FLAGS = [
    ["--port", "9000"],
    ["--host", "127.0.0.1"],
    ["--redis", "redis://:pw@127.0.0.1:6380/2"],
    ["--history", "50"],
    ["--jwt-secret", SECRET],
    ["--jwt-issuer", "https://issuer.example/"],
    ["--jwt-audience", "hub"],
    ["--jwt-algorithms", "HS256,HS384"],
    ["--topics-claim", "hub_topics"],
    ["--publish-key", KEY],
    ["--publish-key", KEY2],
    ["--cors-origin", "https://app.example"],
    ["--cors-origin", "https://*.example.com,http://localhost:*"],
    ["--topics", "news"],
    ["--topics", "chat:*"],
    ["--max-connections", "1000"],
    ["--max-connections-per-ip", "20"],
    ["--client-ip-header", "X-Real-IP"],
    ["--workers", "3"],
    ["--max-body", "65536"],
    ["--publish-rate", "10/5"],
  ];
  // A 48-byte secret: HS384 is among the algorithms.
  const LONG_SECRET = `${SECRET}${"s".repeat(16)}`;
  const EXPECTED: HubOptions = {
    port: 9000,
    host: "127.0.0.1",
    redis: "redis://:pw@127.0.0.1:6380/2",
    history: 50,
    jwt: {
      secret: LONG_SECRET,
      jwksUrl: undefined,
      issuer: "https://issuer.example/",
      audience: "hub",
      algorithms: ["HS256", "HS384"],
      topicsClaim: "hub_topics",
    },
    publishKeys: [KEY, KEY2],
    corsOrigins: ["https://app.example", "https://*.example.com", "http://localhost:*"],
    topics: ["news", "chat:*"],
    maxConnections: 1000,
    maxConnectionsPerIp: 20,
    clientIpHeader: "x-real-ip",
    workers: 3,
    maxBody: 65536,
    publishRate: { burst: 10, perSecond: 5 },
  };

  test("every flag is read; list flags repeat and take commas", () => {
    const argv = FLAGS.flat().map((arg) => (arg === SECRET ? LONG_SECRET : arg));
    assert.deepEqual(hubConfig(argv, {}), EXPECTED);
  });

  test("flags take --name=value too", () => {
    const options = hubConfig([`--publish-key=${KEY}`, "--port=0"], {});
    assert.equal(options.port, 0);
  });

  test("every SLUICE_* variable is read; lists are comma-separated", () => {
    const env = {
      SLUICE_PORT: "9000",
      SLUICE_HOST: "127.0.0.1",
      SLUICE_REDIS: "redis://:pw@127.0.0.1:6380/2",
      SLUICE_HISTORY: "50",
      SLUICE_JWT_SECRET: LONG_SECRET,
      SLUICE_JWT_ISSUER: "https://issuer.example/",
      SLUICE_JWT_AUDIENCE: "hub",
      SLUICE_JWT_ALGORITHMS: "HS256, HS384",
      SLUICE_TOPICS_CLAIM: "hub_topics",
      SLUICE_PUBLISH_KEYS: `${KEY},${KEY2}`,
      SLUICE_CORS_ORIGINS: "https://app.example,https://*.example.com,http://localhost:*",
      SLUICE_TOPICS: "news,chat:*",
      SLUICE_MAX_CONNECTIONS: "1000",
      SLUICE_MAX_CONNECTIONS_PER_IP: "20",
      SLUICE_CLIENT_IP_HEADER: "X-Real-IP",
      SLUICE_WORKERS: "3",
      SLUICE_MAX_BODY: "65536",
      SLUICE_PUBLISH_RATE: "10/5",
    };
    const settings = HUB_SETTINGS.filter((one) => one.key !== "config" && one.key !== "jwksUrl");
    assert.deepEqual(Object.keys(env).sort(), settings.map((one) => one.env).sort());
    assert.deepEqual(hubConfig([], env), EXPECTED);
  });

  test("every config file key is read: numbers as numbers, lists as arrays", () => {
    const file = {
      port: 9000,
      host: "127.0.0.1",
      redis: "redis://:pw@127.0.0.1:6380/2",
      history: 50,
      jwtSecret: LONG_SECRET,
      jwtIssuer: "https://issuer.example/",
      jwtAudience: "hub",
      jwtAlgorithms: ["HS256", "HS384"],
      topicsClaim: "hub_topics",
      publishKeys: [KEY, KEY2],
      corsOrigins: ["https://app.example", "https://*.example.com", "http://localhost:*"],
      topics: ["news", "chat:*"],
      maxConnections: 1000,
      maxConnectionsPerIp: 20,
      clientIpHeader: "X-Real-IP",
      workers: 3,
      maxBody: 65536,
      publishRate: "10/5",
    };
    const settings = HUB_SETTINGS.filter((one) => one.key !== "config" && one.key !== "jwksUrl");
    assert.deepEqual(Object.keys(file).sort(), settings.map((one) => one.key).sort());
    assert.deepEqual(withFile(file), EXPECTED);
  });

  test("a JWKS URL, from each source, defaults the algorithms to RS256 and ES256", () => {
    const url = "https://issuer.example/.well-known/jwks.json";
    const expected = {
      secret: undefined,
      jwksUrl: url,
      issuer: undefined,
      audience: undefined,
      algorithms: ["RS256", "ES256"],
      topicsClaim: "topics",
    };
    assert.deepEqual(hubConfig(["--jwks-url", url], {}).jwt, expected);
    assert.deepEqual(hubConfig([], { SLUICE_JWKS_URL: url }).jwt, expected);
    assert.deepEqual(withFile({ jwksUrl: url }).jwt, expected);
    const es = hubConfig(["--jwks-url", url, "--jwt-algorithms", "ES256"], {});
    assert.deepEqual(es.jwt?.algorithms, ["ES256"]);
  });

  test("SLUICE_CONFIG names the file when --config does not", () => {
    const options = hubConfig([], { SLUICE_CONFIG: "env.json" }, (path) => {
      assert.equal(path, "env.json");
      return JSON.stringify({ publishKeys: [KEY], port: 1234 });
    });
    assert.equal(options.port, 1234);
  });

  test("a JWT key alone is enough: publishers may bring tokens", () => {
    const options = hubConfig(["--jwt-secret", SECRET], {});
    assert.deepEqual(options.publishKeys, []);
    assert.equal(options.jwt?.secret, SECRET);
    assert.deepEqual(options.jwt?.algorithms, ["HS256"]);
  });

  test("a null in the file leaves the setting to its default; an empty variable counts as unset", () => {
    const options = withFile({ publishKeys: [KEY], port: null }, [], { SLUICE_HISTORY: "" });
    assert.equal(options.port, 8080);
    assert.equal(options.history, 1000);
  });
});

describe("hubConfig: precedence", () => {
  test("a flag wins over a variable, which wins over the file, which wins over the default", () => {
    const file = { publishKeys: [KEY], port: 1, history: 1, maxBody: 1 };
    const env = { SLUICE_PORT: "2", SLUICE_HISTORY: "2" };
    const options = withFile(file, ["--port", "3"], env);
    assert.equal(options.port, 3, "the flag");
    assert.equal(options.history, 2, "the variable");
    assert.equal(options.maxBody, 1, "the file");
    assert.equal(options.host, "0.0.0.0", "the default");
  });

  test("a list is taken whole from the first source that has it, never merged", () => {
    const options = withFile({ publishKeys: [KEY], topics: ["file"] }, ["--topics", "flag"], {
      SLUICE_TOPICS: "env",
      SLUICE_PUBLISH_KEYS: KEY2,
    });
    assert.deepEqual(options.topics, ["flag"]);
    assert.deepEqual(options.publishKeys, [KEY2]);
  });

  test("a flag given twice keeps its last value; a list flag keeps them all", () => {
    const options = hubConfig(["--port", "1", "--port", "2", "--publish-key", KEY], {});
    assert.equal(options.port, 2);
  });
});

describe("hubConfig: bad values name the key and where it came from", () => {
  const BAD: [argv: string[], env: Record<string, string>, message: RegExp][] = [
    [["--port", "x"], {}, /^--port: must be a whole number from 0 to 65535, got "x"$/],
    [["--port", "65536"], {}, /^--port: must be a whole number from 0 to 65535, got "65536"$/],
    [["--port", "-1"], {}, /^--port: must be a whole number/],
    [["--port", "1.5"], {}, /^--port: must be a whole number/],
    [
      [],
      { SLUICE_PORT: "80a" },
      /^SLUICE_PORT: must be a whole number from 0 to 65535, got "80a"$/,
    ],
    [
      [],
      { SLUICE_HISTORY: "0" },
      /^SLUICE_HISTORY: must be a whole number from 1 to \d+, got "0"$/,
    ],
    [["--host", " "], {}, /^--host: must be a non-empty string/],
    [["--redis", "http://127.0.0.1:6379"], {}, /^--redis: must be a redis:\/\/ or rediss:\/\/ URL/],
    [
      ["--redis", "not a url"],
      {},
      /^--redis: must be a redis:\/\/ or rediss:\/\/ URL, got "not a url"$/,
    ],
    [["--max-connections", "0"], {}, /^--max-connections: must be a whole number from 1/],
    [
      [],
      { SLUICE_MAX_CONNECTIONS_PER_IP: "many" },
      /^SLUICE_MAX_CONNECTIONS_PER_IP: must be a whole number/,
    ],
    [
      ["--max-body", "1mb"],
      {},
      /^--max-body: must be a whole number from 1 to 2147483647, got "1mb"$/,
    ],
    [
      ["--publish-rate", "10"],
      {},
      /^--publish-rate: must be "burst\/perSecond", two whole numbers from 1, such as "200\/100", got "10"$/,
    ],
    [["--publish-rate", "0/5"], {}, /^--publish-rate: must be "burst\/perSecond"/],
    [
      ["--workers", "0", "--redis", "redis://127.0.0.1"],
      {},
      /^--workers: must be a whole number from 1 to 256, got "0"$/,
    ],
    [
      ["--workers", "many", "--redis", "redis://127.0.0.1"],
      {},
      /^--workers: must be a whole number from 1 to 256, or auto \(one per core\), got "many"$/,
    ],
    [
      ["--workers", "257", "--redis", "redis://127.0.0.1"],
      {},
      /^--workers: must be a whole number from 1 to 256/,
    ],
    [
      ["--workers", "2"],
      {},
      /^--workers: workers need the Redis broker \(--redis URL\): on the memory broker each process would keep its own topics/,
    ],
    [["--workers", "auto"], {}, /^--workers: workers need the Redis broker/],
    [
      ["--client-ip-header", "x real ip"],
      {},
      /^--client-ip-header: must be an HTTP header name, such as x-real-ip or x-forwarded-for, got "x real ip"$/,
    ],
    [[], { SLUICE_WORKERS: "4" }, /^SLUICE_WORKERS: workers need the Redis broker/],
    [
      ["--topics", "chat:**"],
      {},
      /^--topics: must list topic patterns such as "news" or "chat:\*".*got "chat:\*\*"$/,
    ],
    [["--topics", ","], {}, /^--topics: must list at least one value/],
    [["--cors-origin", "app.example"], {}, /^--cors-origin: .*app\.example/],
    [
      ["--jwks-url", "ftp://issuer.example/keys"],
      {},
      /^--jwks-url: must be a https:\/\/ or http:\/\/ URL/,
    ],
    [
      ["--jwt-secret", SECRET, "--jwt-algorithms", "none"],
      {},
      /^--jwt-algorithms: must list JWT algorithms.*got "none"$/,
    ],
    [
      ["--jwt-secret", SECRET, "--jwt-algorithms", "RS256"],
      {},
      /^--jwt-algorithms: RS256 needs a public key: with --jwt-secret only HS256, HS384 or HS512/,
    ],
    [
      ["--jwks-url", "https://i.example/jwks", "--jwt-algorithms", "HS256"],
      {},
      /^--jwt-algorithms: HS256 needs a shared secret \(--jwt-secret\), not a JWKS URL$/,
    ],
    [
      ["--jwt-secret", "too-short"],
      {},
      /^--jwt-secret: the secret has 9 bytes; HS256 needs at least 32/,
    ],
    [
      ["--jwt-secret", SECRET, "--jwt-algorithms", "HS512"],
      {},
      /^--jwt-secret: the secret has 32 bytes; HS512 needs at least 64/,
    ],
    [
      ["--jwt-secret", `-----BEGIN PUBLIC KEY-----${"x".repeat(40)}`],
      {},
      /^--jwt-secret: looks like a PEM key, not a shared secret: give the issuer's key set with --jwks-url/,
    ],
  ];
  for (const [argv, env, message] of BAD) {
    test(`${[...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(" ")}: ${message.source.slice(1, 30)}...`, () => {
      refused(() => hubConfig([...argv, "--publish-key", KEY], env), message);
    });
  }

  test("--workers auto is one per core, with Redis; --workers 1 needs no Redis", () => {
    const redis = ["--redis", "redis://127.0.0.1", "--publish-key", KEY];
    assert.equal(hubConfig(["--workers", "auto", ...redis], {}).workers, availableParallelism());
    assert.equal(hubConfig(["--workers", "AUTO", ...redis], {}).workers, availableParallelism());
    assert.equal(
      withFile({ publishKeys: [KEY], redis: "redis://h", workers: "auto" }).workers,
      availableParallelism(),
    );
    assert.equal(hubConfig(["--workers", "1", "--publish-key", KEY], {}).workers, 1);
    refused(
      () => withFile({ publishKeys: [KEY], workers: 2 }),
      /^config file hub\.json, key "workers": workers need the Redis broker/,
    );
  });

  test("a bad value in the config file names the file and the key", () => {
    refused(
      () => withFile({ publishKeys: [KEY], port: "x" }),
      /^config file hub\.json, key "port": must be a whole number from 0 to 65535, got "x"$/,
    );
    refused(
      () => withFile({ publishKeys: [KEY], port: 1.5 }),
      /^config file hub\.json, key "port": must be a whole number.*got 1\.5$/,
    );
    refused(
      () => withFile({ publishKeys: [KEY], topics: ["news", 7] }),
      /^config file hub\.json, key "topics": must be a list of strings, got a list$/,
    );
    refused(
      () => withFile({ publishKeys: [KEY], publishRate: { burst: 1, perSecond: 1 } }),
      /^config file hub\.json, key "publishRate": must be "burst\/perSecond".*got an object$/,
    );
  });

  test("a Redis URL's password is never echoed", () => {
    refused(
      () => hubConfig(["--publish-key", KEY, "--redis", "http://u:hunter2@x:1"], {}),
      /u:\*\*\*@x:1/,
    );
    try {
      hubConfig(["--publish-key", KEY, "--redis", "http://u:hunter2@x:1"], {});
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /hunter2/);
    }
  });

  test("a publish key shorter than 16 characters is refused, saying why, without echoing it", () => {
    const read = () => hubConfig(["--publish-key", `${KEY},sekret-123`], {});
    refused(
      read,
      /^--publish-key: publish key 2 has 10 characters; a key is a password and needs at least 16 so that it cannot be guessed/,
    );
    assert.throws(read, (error: Error) => !error.message.includes("sekret-123"));
    refused(
      () => hubConfig([], { SLUICE_PUBLISH_KEYS: "short" }),
      /^SLUICE_PUBLISH_KEYS: the publish key has 5 characters/,
    );
    refused(
      () => hubConfig(["--publish-key", "a key with spaces in it"], {}),
      /^--publish-key: the publish key must be at most 512 visible ASCII characters \(no spaces\)$/,
    );
  });

  test("--jwt-secret and --jwks-url together are refused, naming both", () => {
    refused(
      () => hubConfig(["--jwt-secret", SECRET], { SLUICE_JWKS_URL: "https://i.example/jwks" }),
      /^--jwt-secret and SLUICE_JWKS_URL: give one, not both/,
    );
  });

  test("JWT details without a JWT key are refused, naming the detail", () => {
    refused(
      () => hubConfig(["--publish-key", KEY, "--jwt-issuer", "https://i.example/"], {}),
      /^--jwt-issuer: only used to check JWTs, which needs --jwt-secret or --jwks-url$/,
    );
    refused(
      () => withFile({ publishKeys: [KEY], topicsClaim: "t" }),
      /^config file hub\.json, key "topicsClaim": only used to check JWTs/,
    );
  });

  test("a hub nobody could publish to is refused, saying what to give", () => {
    refused(
      () => hubConfig([], {}),
      /^nobody could publish to this hub: give a publish key \(--publish-key, SLUICE_PUBLISH_KEYS\) or a JWT key/,
    );
    refused(() => hubConfig(["--port", "0"], {}), /^nobody could publish/);
  });
});

describe("hubConfig: unknown names, with a suggestion", () => {
  test("an unknown flag is refused, with the flag it most likely meant", () => {
    refused(
      () => hubConfig(["--prot", "1"], {}),
      /^--prot: unknown option \(did you mean --port\?\); sluice hub --help lists them$/,
    );
    refused(
      () => hubConfig(["--publish-keys", KEY], {}),
      /^--publish-keys: unknown option \(did you mean --publish-key\?\)/,
    );
    refused(
      () => hubConfig(["--verbose", "2"], {}),
      /^--verbose: unknown option; sluice hub --help lists them$/,
    );
    refused(() => hubConfig(["-p", "1"], {}), /^-p: unknown option/);
  });

  test("a flag without its value, and a stray argument, are refused", () => {
    refused(
      () => hubConfig(["--publish-key", KEY, "--port"], {}),
      /^--port: needs a value \(--port N\)$/,
    );
    refused(
      () => hubConfig(["--publish-key", KEY, "8080"], {}),
      /^unexpected argument "8080": sluice hub takes options only/,
    );
  });

  test("a SLUICE_* variable close to a setting's is refused as a typo; others are left alone", () => {
    refused(
      () => hubConfig([], { SLUICE_PUBLISH_KEY: KEY }),
      /^SLUICE_PUBLISH_KEY: unknown setting \(did you mean SLUICE_PUBLISH_KEYS\?\)$/,
    );
    refused(
      () => hubConfig(["--publish-key", KEY], { SLUICE_PROT: "1" }),
      /^SLUICE_PROT: unknown setting \(did you mean SLUICE_PORT\?\)$/,
    );
    // examples/live reads SLUICE_SECRET: nothing the hub knows, nothing like one of its names.
    assert.equal(hubConfig(["--publish-key", KEY], { SLUICE_SECRET: "x", PORT: "1" }).port, 8080);
  });

  test("an unknown config file key is refused, with the key it most likely meant", () => {
    refused(
      () => withFile({ prot: 1 }),
      /^config file hub\.json: key "prot" is unknown \(did you mean "port"\?\)$/,
    );
    refused(
      () => withFile({ publishKey: KEY }),
      /key "publishKey" is unknown \(did you mean "publishKeys"\?\)$/,
    );
    refused(
      () => withFile({ "max-connections-per-ip": 1 }),
      /key "max-connections-per-ip" is unknown \(the key of --max-connections-per-ip is "maxConnectionsPerIp"\)$/,
    );
    refused(
      () => withFile({ config: "other.json" }),
      /key "config": a config file cannot name another one$/,
    );
  });

  test("a config file that cannot be read, is not JSON, or is not an object is refused", () => {
    refused(
      () =>
        hubConfig(["--config", "missing.json"], {}, () => {
          throw new Error("ENOENT: no such file or directory, open 'missing.json'");
        }),
      /^config file missing\.json: cannot be read \(ENOENT: no such file/,
    );
    refused(() => withFile("{ port: 1 }"), /^config file hub\.json: is not valid JSON \(/);
    refused(() => withFile([1, 2]), /^config file hub\.json: must hold a JSON object of settings/);
    refused(() => hubConfig(["--config", " "], {}), /^--config: must be a non-empty string/);
  });

  test("the real file system is read by default", () => {
    refused(
      () => hubConfig(["--config", "/nonexistent/sluice-hub.json"], {}),
      /^config file \/nonexistent\/sluice-hub\.json: cannot be read \(ENOENT/,
    );
  });
});

describe("docs/hub.md", () => {
  test("its configuration table lists every setting: flag, variable, file key and default", () => {
    const page = readFileSync(new URL("../docs/hub.md", import.meta.url), "utf8");
    const rows = page.split("\n").filter((line) => line.startsWith("| `--"));
    assert.equal(rows.length, HUB_SETTINGS.length);
    for (const setting of HUB_SETTINGS) {
      const row = rows.find((line) => line.startsWith(`| \`--${setting.flag} `));
      assert.ok(row, `--${setting.flag} has a row`);
      // Markdown escapes a | inside a cell as \|.
      const cells = row.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll("\\|", "|"));
      const key = setting.key === "config" ? "—" : `\`${setting.key}\``;
      assert.deepEqual(cells.slice(1, 5), [
        `\`--${setting.flag} ${setting.value}\``,
        `\`${setting.env}\``,
        key,
        setting.fallback,
      ]);
    }
  });
});
