// The checks of `sluice hub`'s setting values. Each takes the value as it came (a flag's
// text, an environment variable, a JSON value of the config file) and `where` it came from,
// and returns it checked or throws a HubConfigError that names `where` and says what fits.
import { cors } from "../middleware/cors.js";
import { HubConfigError } from "./hub-config-error.js";

/** A value as read: a flag's text (a list flag's several), a variable's text or a JSON value. */
export type RawValue = unknown;

function refuse(where: string, rule: string, raw?: RawValue): never {
  const got = raw === undefined ? "" : `, got ${describe(raw)}`;
  throw new HubConfigError(`${where}: ${rule}${got}`);
}

function describe(raw: RawValue): string {
  if (typeof raw === "string") return JSON.stringify(raw);
  if (Array.isArray(raw)) return "a list";
  return raw === null ? "null" : typeof raw === "object" ? "an object" : String(raw);
}

export function wholeNumber(min: number, max: number) {
  return (raw: RawValue, where: string): number => {
    const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      refuse(where, `must be a whole number from ${min} to ${max}`, raw);
    }
    return value;
  };
}

export function text(raw: RawValue, where: string): string {
  if (typeof raw !== "string" || raw.trim() === "")
    refuse(where, "must be a non-empty string", raw);
  return raw.trim();
}

/**
 * A list: a comma-separated string (a list flag given several times arrives as its values
 * joined with commas) or a JSON array of strings. Empty items are dropped; an empty list is
 * refused.
 */
export function list(raw: RawValue, where: string): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  const values: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") refuse(where, "must be a list of strings", raw);
    values.push(
      ...item
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    );
  }
  if (values.length === 0) refuse(where, "must list at least one value", raw);
  return values;
}

/** A URL with one of `protocols` (`["redis:", "rediss:"]`), shown without its password. */
export function url(protocols: readonly string[]) {
  return (raw: RawValue, where: string): string => {
    const given = text(raw, where);
    let parsed: URL | undefined;
    try {
      parsed = new URL(given);
    } catch {}
    const schemes = protocols.map((protocol) => `${protocol}//`).join(" or ");
    if (parsed === undefined || !protocols.includes(parsed.protocol)) {
      refuse(where, `must be a ${schemes} URL`, parsed ? withoutPassword(parsed) : given);
    }
    return given;
  };
}

function withoutPassword(parsed: URL): string {
  if (parsed.password !== "") parsed.password = "***";
  return parsed.href;
}

/** Publishers' API keys: each long enough not to be guessed, and fit for a header. */
export function publishKeys(raw: RawValue, where: string): string[] {
  const keys = list(raw, where);
  keys.forEach((key, index) => {
    const which = keys.length === 1 ? "the publish key" : `publish key ${index + 1}`;
    // Keys are never echoed: an error message often ends up in a shared log.
    if (key.length < 16) {
      refuse(
        where,
        `${which} has ${key.length} characters; a key is a password and needs at least 16 so that it cannot be guessed (make one with: openssl rand -hex 24)`,
      );
    }
    if (key.length > 512 || !/^[\x21-\x7e]+$/.test(key)) {
      refuse(where, `${which} must be at most 512 visible ASCII characters (no spaces)`);
    }
  });
  return keys;
}

/** A shared HMAC secret: at least as long as the hash, and not key material. */
export function jwtSecret(raw: RawValue, where: string): string {
  if (typeof raw !== "string" || raw === "") refuse(where, "must be a non-empty string");
  if (raw.includes("-----BEGIN")) {
    refuse(
      where,
      "looks like a PEM key, not a shared secret: give the issuer's key set with --jwks-url for RS256/ES256 tokens",
    );
  }
  return raw;
}

const HMAC_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };
const ASYMMETRIC = /^(?:(?:RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519)$/;

/** JWT algorithms: HMAC ones with a secret, asymmetric ones with a JWKS URL. */
export function jwtAlgorithms(raw: RawValue, where: string, withSecret: boolean): string[] {
  const algorithms = list(raw, where);
  for (const algorithm of algorithms) {
    const hmac = algorithm in HMAC_BYTES;
    if (!hmac && !ASYMMETRIC.test(algorithm)) {
      refuse(
        where,
        "must list JWT algorithms: HS256, HS384, HS512, RS256, PS256, ES256, EdDSA...",
        algorithm,
      );
    }
    if (hmac !== withSecret) {
      refuse(
        where,
        withSecret
          ? `${algorithm} needs a public key: with --jwt-secret only HS256, HS384 or HS512 are verified`
          : `${algorithm} needs a shared secret (--jwt-secret), not a JWKS URL`,
      );
    }
  }
  return algorithms;
}

/** Bytes an HMAC secret needs for the longest hash among `algorithms`. */
export function secretBytesNeeded(algorithms: readonly string[]): number {
  return Math.max(0, ...algorithms.map((algorithm) => HMAC_BYTES[algorithm] ?? 0));
}

/** Allowed origins, as cors() takes them (it checks them). */
export function corsOrigins(raw: RawValue, where: string): string[] {
  const origins = list(raw, where);
  try {
    cors({ origin: origins.includes("*") ? "*" : origins });
  } catch (error) {
    refuse(where, (error as Error).message.replace(/^cors\(\): /, ""));
  }
  return origins;
}

/** Topic patterns as app.realtime()'s lists take them: `*` is part of one `:`-separated part. */
export function topicPatterns(raw: RawValue, where: string): string[] {
  const patterns = list(raw, where);
  for (const pattern of patterns) {
    if (pattern.length > 1024 || pattern.includes("**") || /\s/.test(pattern)) {
      refuse(
        where,
        'must list topic patterns such as "news" or "chat:*" (`*`: one or more characters other than ":"; no spaces, no "**")',
        pattern,
      );
    }
  }
  return patterns;
}

/** `burst/perSecond`, such as "200/100": two whole numbers from 1. */
export function publishRate(raw: RawValue, where: string) {
  const match = typeof raw === "string" ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw) : null;
  const burst = Number(match?.[1]);
  const perSecond = Number(match?.[2]);
  const fits = (value: number) => Number.isSafeInteger(value) && value >= 1;
  if (!fits(burst) || !fits(perSecond)) {
    refuse(where, 'must be "burst/perSecond", two whole numbers from 1, such as "200/100"', raw);
  }
  return { burst, perSecond };
}

/** The most worker processes `--workers` takes: far past any core count, short of a fork bomb. */
export const MAX_WORKERS = 256;

/**
 * `--workers`: a whole number of processes, or `auto` for one per core (`cores`, the
 * machine's available parallelism). Returns the count and whether more than one process was
 * asked for (`auto` counts as asked even on one core: the setting means the same everywhere).
 */
export function workerCount(cores: number) {
  return (raw: RawValue, where: string): { count: number; clustered: boolean } => {
    if (typeof raw === "string" && raw.trim().toLowerCase() === "auto") {
      return { count: Math.max(1, Math.min(cores, MAX_WORKERS)), clustered: true };
    }
    if (typeof raw === "string" && raw.trim() !== "" && !/^\d+$/.test(raw.trim()))
      refuse(where, `must be a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`, raw);
    const count = wholeNumber(1, MAX_WORKERS)(raw, where);
    return { count, clustered: count > 1 };
  };
}

/** An HTTP header name (a token), lower-cased. */
export function headerName(raw: RawValue, where: string): string {
  const name = text(raw, where);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    refuse(where, "must be an HTTP header name, such as x-real-ip or x-forwarded-for", raw);
  return name.toLowerCase();
}
