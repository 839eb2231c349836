import type { RealtimeContext } from "./realtime-context.js";
import type { RealtimeMethod } from "./realtime-options.js";
import { ReplyError } from "./reply-error.js";

/**
 * Runs a method for a `call`: its result, or a `not_found` ReplyError for a name no method
 * has, or a `timeout` one once it takes longer than `timeoutMs` (its work is not stopped:
 * a method that can be cancelled should watch `ctx.request.signal`). Once the connection
 * closes it is no longer waited for: no reply can go out, and its timer must not keep the
 * process alive for `timeoutMs`.
 */
export async function callMethod(
  methods: ReadonlyMap<string, RealtimeMethod<object>>,
  name: string,
  params: unknown,
  ctx: RealtimeContext<object>,
  timeoutMs: number,
): Promise<unknown> {
  const method = methods.get(name);
  if (!method) throw new ReplyError("not_found", `No method ${JSON.stringify(name)}`);
  const { signal } = ctx.request;
  if (signal.aborted) throw new ReplyError("unavailable", "The connection closed");
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ReplyError("unavailable", "The connection closed"));
    signal.addEventListener("abort", onAbort, { once: true });
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
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
