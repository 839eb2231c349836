import { logSafely } from "../util/logger.js";
import type { SluiceRequest } from "./request.js";
import { cancelSource, openSource } from "./stream-source.js";
import { StreamingResponse } from "./streaming-response.js";

export type Next = () => Promise<unknown>;

/** Where a middleware's type records what it adds to `req.state`; no such property exists. */
declare const addsState: unique symbol;

/**
 * Runs before the handler. Call `next()` to go on; it resolves to what the handler returned
 * (so a middleware may wrap or replace it) and rejects with what it threw. Return without
 * calling `next()` to answer yourself; throw an HttpError to refuse.
 *
 * `Adds` is what it sets in `req.state`, for the types only: `bearerAuth<User>()` is a
 * `Middleware<{ auth: User }>`, and `app.use(it)` returns the app typed with that state.
 * `State` is what it finds there (`app.use()` gives it the app's). A middleware of your own
 * declares what it adds the same way:
 *
 * ```ts
 * const tenant: Middleware<{ tenant: string }> = (req, next) => {
 *   req.state.tenant = req.header("x-tenant") ?? "default";
 *   return next();
 * };
 * ```
 */
export type Middleware<
  Adds extends object = NoState,
  State extends object = Record<string, unknown>,
> = ((request: SluiceRequest<Record<string, string>, State>, next: Next) => unknown) & {
  readonly [addsState]?: Adds;
};

/** What a middleware that declares nothing adds to `req.state`. */
type NoState = Record<never, never>;

/**
 * A promise that knows whether anyone awaited it or attached a handler: how a middleware
 * that called `next()` and dropped it (Koa style) is told apart from one that awaited it and
 * chose its own answer.
 */
class WatchedPromise<T> extends Promise<T> {
  static override get [Symbol.species]() {
    return Promise;
  }
  observed = false;
  // biome-ignore lint/suspicious/noThenProperty: a Promise subclass that watches its observers, on purpose
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

const ignore = () => {};

/**
 * The onion: each middleware wraps the rest of the chain, the last step is `final`. When a
 * middleware calls `next()` without awaiting or returning it and returns nothing, the answer
 * is what the rest of the chain produced, so nothing is lost and no error goes unobserved.
 * A middleware that awaited `next()` is taken at its word (returning undefined means 204).
 */
export function runMiddleware(
  middleware: readonly Middleware[],
  request: SluiceRequest,
  final: () => unknown,
): Promise<unknown> {
  const step = async (index: number): Promise<unknown> => {
    if (index === middleware.length) return final();
    let downstream: WatchedPromise<unknown> | undefined;
    let misuse: Error | undefined;
    const next: Next = () => {
      if (downstream) {
        misuse ??= new Error("next() was called more than once in one middleware");
        const refused = Promise.reject(misuse);
        refused.catch(ignore); // reported below even when the caller drops it
        return refused;
      }
      const rest = step(index + 1);
      downstream = new WatchedPromise((resolve, reject) => rest.then(resolve, reject));
      Promise.prototype.then.call(downstream, undefined, ignore); // never unhandled
      return downstream;
    };
    // What the rest of the chain produced, when it will never be sent: a stream's source (a
    // file, a cursor) is closed unread rather than left open.
    const dropDownstream = () => {
      if (downstream)
        Promise.prototype.then.call(downstream, (value) => closeUnsent(value, request), ignore);
    };
    let result: unknown;
    try {
      result = await middleware[index](request, next);
    } catch (error) {
      dropDownstream();
      throw error;
    }
    if (misuse) {
      dropDownstream();
      throw misuse;
    }
    if (!downstream || downstream.observed) return result;
    if (result === undefined) return downstream;
    downstream.then(undefined, (error: unknown) =>
      logSafely(
        request.log,
        "error",
        { err: error },
        "a middleware answered on its own; the rest of the chain failed",
      ),
    );
    return result;
  };
  return step(0);
}

/** Closes the source of a stream that will not be sent, logging (never throwing) its failure. */
function closeUnsent(value: unknown, request: SluiceRequest): void {
  const failed = (error: unknown) =>
    logSafely(
      request.log,
      "warn",
      { err: error },
      "an unsent stream's producer failed while being closed",
    );
  if (value instanceof StreamingResponse) cancelSource(openSource(value.source), failed);
  else if (value instanceof Response) value.body?.cancel().catch(failed);
}
