import type { SluiceRequest } from "./request.js";

export type Next = () => Promise<unknown>;

/**
 * Runs before the handler. Call `next()` to go on; it resolves to what the handler returned
 * (so a middleware may wrap or replace it) and rejects with what it threw. Return without
 * calling `next()` to answer yourself; throw an HttpError to refuse.
 */
export type Middleware = (request: SluiceRequest, next: Next) => unknown;

/** The onion: each middleware wraps the rest of the chain, the last step is `final`. */
export function runMiddleware(
  middleware: readonly Middleware[],
  request: SluiceRequest,
  final: () => unknown,
): Promise<unknown> {
  const step = async (index: number): Promise<unknown> => {
    if (index === middleware.length) return final();
    let called = false;
    return middleware[index](request, () => {
      if (called)
        return Promise.reject(new Error("next() was called more than once in one middleware"));
      called = true;
      return step(index + 1);
    });
  };
  return step(0);
}
