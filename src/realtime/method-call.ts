import type { RealtimeContext } from "./realtime-context.js";
import type { RealtimeMethod } from "./realtime-options.js";
import { ReplyError } from "./reply-error.js";

/**
 * Runs a method for a `call`: its result, or a `not_found` ReplyError for a name no method
 * has, or a `timeout` one once it takes longer than `timeoutMs` (its work is not stopped:
 * a method that can be cancelled should watch `ctx.request.signal`). While it runs, `pending`
 * holds a function that stops waiting for it: the session calls it when the connection
 * closes (no reply can go out then, and the timer must not keep the process alive for
 * `timeoutMs`). A set, not a listener per call on the request's signal: a connection may
 * have 64 calls running.
 */
export async function callMethod(
  methods: ReadonlyMap<string, RealtimeMethod<object>>,
  name: string,
  params: unknown,
  ctx: RealtimeContext<object>,
  timeoutMs: number,
  pending: Set<() => void>,
): Promise<unknown> {
  const method = methods.get(name);
  if (!method) throw new ReplyError("not_found", `No method ${JSON.stringify(name)}`);
  let timer: NodeJS.Timeout | undefined;
  let cancel: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    cancel = () => reject(new ReplyError("unavailable", "The connection closed"));
    pending.add(cancel);
    timer = setTimeout(
      () =>
        reject(
          new ReplyError(
            "timeout",
            `Method ${JSON.stringify(name)} took longer than ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([method(params, ctx), expired]);
  } finally {
    clearTimeout(timer);
    if (cancel) pending.delete(cancel);
  }
}
