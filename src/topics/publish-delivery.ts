import { describe } from "./topic-checks.js";

/** Longest client id `except` accepts: an id, not a payload (socket ids are 36). */
const MAX_CLIENT_ID_LENGTH = 256;

/** Who must not receive a published message: a client id, or a socket (anything with one). */
export type PublishExcept = string | { readonly id: string };

/** A publish's `store` option: undefined or a boolean. */
export function checkStore(store: unknown): boolean | undefined {
  if (store === undefined || typeof store === "boolean") return store;
  throw new TypeError(
    `publish() store must be a boolean (false: deliver to current subscribers, keep nothing), got ${describe(store)}`,
  );
}

/**
 * A publish's `except` as the client id it names: a string is one; a socket (a
 * SluiceWebSocket, or any object with a string `id`) gives its own.
 */
export function checkExcept(except: unknown): string | undefined {
  if (except === undefined) return undefined;
  const id =
    except !== null && typeof except === "object" ? (except as { id?: unknown }).id : except;
  if (
    typeof id !== "string" ||
    id.length === 0 ||
    id.length > MAX_CLIENT_ID_LENGTH ||
    /[\r\n]/.test(id)
  ) {
    throw new TypeError(
      `publish() except must be a client id (a non-empty one-line string of at most ${MAX_CLIENT_ID_LENGTH} characters) or a socket with one, got ${describeExcept(except)}`,
    );
  }
  return id;
}

function describeExcept(except: unknown): string {
  if (except !== null && typeof except === "object") {
    return `an object whose id is ${describe((except as { id?: unknown }).id)}`;
  }
  return describe(except);
}
