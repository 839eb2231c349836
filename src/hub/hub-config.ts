import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { closestName } from "./closest-name.js";
import { HubConfigError } from "./hub-config-error.js";
import type { HubJwtOptions, HubOptions } from "./hub-options.js";
import { DEFAULT_TOPIC_DEPTH, HUB_SETTINGS } from "./hub-settings.js";
import {
  corsOrigins,
  headerName,
  jwtAlgorithms,
  jwtSecret,
  publishKeys,
  publishRate,
  type RawValue,
  secretBytesNeeded,
  text,
  topicPatterns,
  url,
  wholeNumber,
  workerCount,
} from "./hub-values.js";

/** Reads the config file named by `--config` or SLUICE_CONFIG (default: the file system). */
export type ReadConfigFile = (path: string) => string;

/** Every topic of 1 to DEFAULT_TOPIC_DEPTH `:`-separated parts: `*`, `*:*`, `*:*:*`... */
export const ANY_TOPIC: readonly string[] = Object.freeze(
  Array.from({ length: DEFAULT_TOPIC_DEPTH }, (_, index) =>
    Array(index + 1)
      .fill("*")
      .join(":"),
  ),
);

const DEFAULTS = {
  port: 8080,
  host: "0.0.0.0",
  history: 1000,
  topicsClaim: "topics",
  maxBody: 1024 * 1024,
  publishRate: { burst: 200, perSecond: 100 },
};

/** A setting's value as found, with where it was found (`--port`, `SLUICE_PORT`, ...). */
interface Found {
  readonly raw: RawValue;
  readonly where: string;
}

/**
 * The configuration of `sluice hub` from its flags (`argv`, after `hub`), environment
 * variables (`SLUICE_*`) and optional JSON config file (`--config`, SLUICE_CONFIG), in that
 * order of precedence, checked and with defaults filled. Throws a HubConfigError naming the
 * key and where it came from for anything that cannot run: a bad value, an unknown flag or
 * file key, settings that do not fit together, and a hub nobody could publish to (neither a
 * publish key nor a JWT key).
 */
export function hubConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadConfigFile = (path) => readFileSync(path, "utf8"),
): HubOptions {
  const flags = flagValues(argv);
  const variables = envValues(env);
  const configFile = flags.get("config") ?? variables.get("config");
  const file = configFile
    ? fileValues(text(configFile.raw, configFile.where), readFile)
    : new Map();
  const find = (key: string): Found | undefined =>
    flags.get(key) ?? variables.get(key) ?? file.get(key);
  const read = <T>(key: string, check: (raw: RawValue, where: string) => T): T | undefined => {
    const found = find(key);
    return found === undefined ? undefined : check(found.raw, found.where);
  };
  const keys = read("publishKeys", publishKeys) ?? [];
  const jwt = jwtOptions(find);
  if (keys.length === 0 && jwt === undefined) {
    throw new HubConfigError(
      "nobody could publish to this hub: give a publish key (--publish-key, SLUICE_PUBLISH_KEYS) or a JWT key (--jwt-secret or --jwks-url) for tokens whose topics claim lists what they may publish",
    );
  }
  const redis = read("redis", url(["redis:", "rediss:"]));
  return Object.freeze({
    port: read("port", wholeNumber(0, 65535)) ?? DEFAULTS.port,
    host: read("host", text) ?? DEFAULTS.host,
    redis,
    history: read("history", wholeNumber(1, Number.MAX_SAFE_INTEGER)) ?? DEFAULTS.history,
    jwt,
    publishKeys: Object.freeze(keys),
    corsOrigins: Object.freeze(read("corsOrigins", corsOrigins) ?? []),
    topics: Object.freeze(read("topics", topicPatterns) ?? ANY_TOPIC),
    maxConnections: read("maxConnections", wholeNumber(1, Number.MAX_SAFE_INTEGER)),
    maxConnectionsPerIp: read("maxConnectionsPerIp", wholeNumber(1, Number.MAX_SAFE_INTEGER)),
    clientIpHeader: read("clientIpHeader", headerName),
    workers: workers(find("workers"), redis),
    maxBody: read("maxBody", wholeNumber(1, 2 ** 31 - 1)) ?? DEFAULTS.maxBody,
    publishRate: Object.freeze(read("publishRate", publishRate) ?? DEFAULTS.publishRate),
  });
}

/**
 * The worker count. Workers need the Redis broker: on the memory broker each process would
 * keep its own topics, and a message published to one worker would reach only its clients.
 */
function workers(found: Found | undefined, redis: string | undefined): number {
  if (found === undefined) return 1;
  const { count, clustered } = workerCount(availableParallelism())(found.raw, found.where);
  if (clustered && redis === undefined) {
    throw new HubConfigError(
      `${found.where}: workers need the Redis broker (--redis URL): on the memory broker each process would keep its own topics, and a message published to one would never reach the clients of another`,
    );
  }
  return count;
}

const JWT_DETAILS = ["jwtIssuer", "jwtAudience", "jwtAlgorithms", "topicsClaim"];

/** How JWTs are checked, or undefined when neither a secret nor a JWKS URL is given. */
function jwtOptions(find: (key: string) => Found | undefined): HubJwtOptions | undefined {
  const secret = find("jwtSecret");
  const jwks = find("jwksUrl");
  if (secret && jwks) {
    throw new HubConfigError(
      `${secret.where} and ${jwks.where}: give one, not both: a shared secret verifies HS256 tokens, a JWKS URL the issuer's RS256 or ES256 ones`,
    );
  }
  if (!secret && !jwks) {
    const stray = JWT_DETAILS.map(find).find((found) => found !== undefined);
    if (stray) {
      throw new HubConfigError(
        `${stray.where}: only used to check JWTs, which needs --jwt-secret or --jwks-url`,
      );
    }
    return undefined;
  }
  const algorithmsFound = find("jwtAlgorithms");
  const algorithms = algorithmsFound
    ? jwtAlgorithms(algorithmsFound.raw, algorithmsFound.where, secret !== undefined)
    : secret
      ? ["HS256"]
      : ["RS256", "ES256"];
  const checked = (found: Found | undefined, check: (raw: RawValue, where: string) => string) =>
    found === undefined ? undefined : check(found.raw, found.where);
  const secretValue = checked(secret, jwtSecret);
  if (secret && secretValue !== undefined) {
    const needed = secretBytesNeeded(algorithms);
    const bytes = Buffer.byteLength(secretValue);
    if (bytes < needed) {
      throw new HubConfigError(
        `${secret.where}: the secret has ${bytes} bytes; ${algorithms.join(", ")} needs at least ${needed}, or tokens could be forged by guessing it (make one with: openssl rand -hex 32)`,
      );
    }
  }
  return Object.freeze({
    secret: secretValue,
    jwksUrl: checked(jwks, url(["https:", "http:"])),
    issuer: checked(find("jwtIssuer"), text),
    audience: checked(find("jwtAudience"), text),
    algorithms: Object.freeze(algorithms),
    topicsClaim: checked(find("topicsClaim"), text) ?? DEFAULTS.topicsClaim,
  });
}

/** The flags given, by setting key. A list flag given several times joins its values with commas. */
function flagValues(argv: readonly string[]): Map<string, Found> {
  const byFlag = new Map(HUB_SETTINGS.map((one) => [one.flag, one]));
  const options = Object.fromEntries(
    HUB_SETTINGS.map((one) => [one.flag, { type: "string" as const, multiple: one.list }]),
  );
  // Not strict: the tokens are checked here, so that each refusal names the flag and a fix.
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const found = new Map<string, Found>();
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      throw new HubConfigError(
        `unexpected argument ${JSON.stringify(token.value)}: sluice hub takes options only (--name value); see sluice hub --help`,
      );
    }
    const one = byFlag.get(token.name);
    if (one === undefined) throw unknownFlag(token.rawName);
    if (token.value === undefined) {
      throw new HubConfigError(`${token.rawName}: needs a value (${token.rawName} ${one.value})`);
    }
    const earlier = found.get(one.key);
    const value = one.list && earlier ? `${earlier.raw},${token.value}` : token.value;
    found.set(one.key, { raw: value, where: `--${one.flag}` });
  }
  return found;
}

function unknownFlag(rawName: string): HubConfigError {
  const name = rawName.replace(/^-+/, "");
  const near = closestName(
    name,
    HUB_SETTINGS.map((one) => one.flag),
  );
  const hint = near ? ` (did you mean --${near}?)` : "";
  return new HubConfigError(`${rawName}: unknown option${hint}; sluice hub --help lists them`);
}

/**
 * The SLUICE_* variables set (an empty one counts as unset), by setting key. A SLUICE_*
 * variable a letter or two from a setting's is refused as a typo; others are left alone
 * (another program may read them).
 */
function envValues(env: Readonly<Record<string, string | undefined>>): Map<string, Found> {
  const known = new Map(HUB_SETTINGS.map((one) => [one.env, one]));
  const found = new Map<string, Found>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("SLUICE_") || value === undefined || value.trim() === "") continue;
    const one = known.get(name);
    if (one) {
      found.set(one.key, { raw: value, where: name });
      continue;
    }
    const near = closestName(name, known.keys());
    if (near) throw new HubConfigError(`${name}: unknown setting (did you mean ${near}?)`);
  }
  return found;
}

/** The config file's settings, by key: a JSON object whose keys are the settings' (camelCase). */
function fileValues(path: string, readFile: ReadConfigFile): Map<string, Found> {
  const where = `config file ${path}`;
  let content: string;
  try {
    content = readFile(path);
  } catch (error) {
    throw new HubConfigError(`${where}: cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new HubConfigError(`${where}: is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HubConfigError(
      `${where}: must hold a JSON object of settings, such as { "port": 8080 }`,
    );
  }
  const fileKeys = HUB_SETTINGS.filter((one) => one.key !== "config").map((one) => one.key);
  const found = new Map<string, Found>();
  for (const [key, raw] of Object.entries(parsed)) {
    if (!fileKeys.includes(key)) throw unknownFileKey(where, key, fileKeys);
    // null leaves a setting to its default, as if the key were absent.
    if (raw !== null) found.set(key, { raw, where: `${where}, key "${key}"` });
  }
  return found;
}

function unknownFileKey(where: string, key: string, fileKeys: readonly string[]): HubConfigError {
  if (key === "config")
    return new HubConfigError(`${where}: key "config": a config file cannot name another one`);
  const near = closestName(key, fileKeys);
  const hint = near ? ` (did you mean "${near}"?)` : flagNamed(key);
  return new HubConfigError(`${where}: key "${key}" is unknown${hint}`);
}

/** The hint for a file key written as its flag (`max-body`): the key is camelCase. */
function flagNamed(key: string): string {
  const one = HUB_SETTINGS.find((setting) => setting.flag === key);
  return one && one.key !== "config" ? ` (the key of --${one.flag} is "${one.key}")` : "";
}
