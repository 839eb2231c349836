import type { MessageRate } from "./websocket-options.js";

/**
 * A route's incoming message rate limit: a token bucket of `messages` tokens refilled at
 * `messages / perMs`, kept as one number per socket (GCRA, the "virtual scheduling" form of a
 * token bucket): the time at which its bucket would be full again. No timer, no allocation:
 * the refill is worked out when a message arrives, in a couple of number operations.
 */
export class MessageRateLimit {
  /** Ms that one token takes to come back. */
  private readonly interval: number;
  /**
   * How far ahead of now a socket's full-bucket time may be for one more message to be let
   * in: `messages - 1` tokens' worth, and a hair more so that float rounding of a fractional
   * interval (1 000 ms / 3) never costs the last token of a burst.
   */
  private readonly tolerance: number;

  constructor(readonly rate: Readonly<MessageRate>) {
    this.interval = rate.perMs / rate.messages;
    this.tolerance = rate.perMs - this.interval + this.interval * 1e-9;
  }

  /**
   * A message arrived at `now` (ms, monotonic) on a socket whose bucket is full again at
   * `fullAt` (0 for a socket that has not sent anything yet: a full bucket). Returns the
   * socket's new `fullAt` once the message is let in, or -1 when its bucket is empty (the
   * socket's state is then to stay as it was).
   */
  admit(fullAt: number, now: number): number {
    const from = Math.max(fullAt, now);
    return from - now > this.tolerance ? -1 : from + this.interval;
  }
}
