import type { SluiceRequest } from "./request.js";

export type Next = () => Promise<unknown>;

/**
 * Runs before the handler. Call `next()` to go on; it resolves to what the handler returned
 * (so a middleware may wrap or replace it) and rejects with what it threw. Return without
 * calling `next()` to answer yourself; throw an HttpError to refuse.
 */
export type Middleware = (request: SluiceRequest, next: Next) => unknown;

/**
 * The onion: each middleware wraps the rest of the chain, the last step is `final`. A
 * middleware that calls `next()` but returns nothing (Koa style, `next()` not returned or
 * awaited) answers with what the rest of the chain produced, so nothing is lost and an error
 * thrown further in never goes unobserved.
 */
export function runMiddleware(
  middleware: readonly Middleware[],
  request: SluiceRequest,
  final: () => unknown,
): Promise<unknown> {
  const step = async (index: number): Promise<unknown> => {
    if (index === middleware.length) return final();
    let downstream: Promise<unknown> | undefined;
    const result = await middleware[index](request, () => {
      if (downstream) {
        return Promise.reject(new Error("next() was called more than once in one middleware"));
      }
      downstream = step(index + 1);
      downstream.catch(() => {}); // observed below, or by the middleware itself
      return downstream;
    });
    return result === undefined && downstream ? downstream : result;
  };
  return step(0);
}
