/**
 * Redis could not be reached (down, restarting, connection lost, no reply in time) or the
 * broker was closed: what was asked was not done. `cause` holds the client's own error.
 * A publish whose connection broke while it was in flight may still have been stored.
 */
export class BrokerUnavailableError extends Error {
  override readonly name = "BrokerUnavailableError";
}

/**
 * Redis replies that mean "not now" rather than "never": the server is loading its data, busy
 * with a script, or a replica that cannot take writes. Everything else Redis answers with an
 * error is a real refusal; errors that are not replies at all (connection closed, offline,
 * timed out, too many retries) are about reaching Redis.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

/** True when `error` means Redis could not be reached, as opposed to a reply refusing a command. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error.name !== "ReplyError") return true;
  return TRANSIENT_REPLY.test(error.message);
}

/** Wraps a failure of `what` (e.g. `the message to topic "a" was not published`). */
export function brokerError(error: unknown, what: string, closed: boolean): Error {
  if (closed)
    return new BrokerUnavailableError(`The Redis broker is closed: ${what}`, { cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  if (isUnavailable(error)) {
    return new BrokerUnavailableError(`Redis is unavailable: ${what} (${reason})`, {
      cause: error,
    });
  }
  return new Error(`Redis refused: ${what} (${reason})`, { cause: error });
}
