import type { RealtimeContext } from "./realtime-context.js";
import type { RealtimeMethod } from "./realtime-options.js";
import { ReplyError } from "./reply-error.js";

/**
 * Runs a method for a `call`: its result, or a `not_found` ReplyError for a name no method
 * has, or a `timeout` one once it takes longer than `timeoutMs` (its work is not stopped:
 * a method that can be cancelled should watch `ctx.request.signal`).
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
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
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
  }
}
