import { describe } from "./topic-checks.js";

/** Longest dedupe key accepted, in characters: a client's message id, not a payload. */
export const MAX_DEDUPE_KEY_LENGTH = 200;

/** Refuses what cannot be a publish's dedupe key, with a message that says what can. */
export function checkDedupeKey(
  dedupeKey: unknown,
  what = "publish() dedupeKey",
): string | undefined {
  if (dedupeKey === undefined) return undefined;
  if (
    typeof dedupeKey !== "string" ||
    dedupeKey.length === 0 ||
    dedupeKey.length > MAX_DEDUPE_KEY_LENGTH
  ) {
    throw new TypeError(
      `${what} must be a non-empty string of at most ${MAX_DEDUPE_KEY_LENGTH} characters, got ${describeKey(dedupeKey)}`,
    );
  }
  return dedupeKey;
}

/** Says how long a refused string was: 40 characters of it do not show why. */
function describeKey(dedupeKey: unknown): string {
  return typeof dedupeKey === "string" && dedupeKey.length > MAX_DEDUPE_KEY_LENGTH
    ? `${describe(dedupeKey)} (${dedupeKey.length} characters)`
    : describe(dedupeKey);
}
