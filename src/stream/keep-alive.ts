import { responseDestroyed, responseNeedsDrain } from "../http/node-http.js";
import type { StreamLifecycle } from "../http/streaming-response.js";
import type { BatchedWriter } from "./batched-writer.js";

type KeepAlive = NonNullable<StreamLifecycle["keepAlive"]>;

/**
 * The streams kept alive with one silence threshold, checked by one shared interval timer
 * instead of a timer per stream: an idle stream costs an entry here, not a Timeout, its
 * callback and their closure.
 *
 * The interval ticks every `idleMs / 2`, and a stream gets its comment on the first tick at
 * which it has been silent for `idleMs`: so after `idleMs` to `1.5 × idleMs` of silence (one
 * tick late at most; a millisecond early at worst, as timers are rounded to whole ones). A
 * client with bytes pending, or a stream that is not `ready()`, is skipped until a later tick.
 */
class KeepAliveWheel {
  readonly streams = new Map<BatchedWriter, KeepAlive>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly idleMs: number) {
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(idleMs / 2)));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    // Timers are rounded to whole milliseconds: allow for one.
    const silentSince = performance.now() - this.idleMs + 1;
    for (const [writer, keepAlive] of this.streams) {
      if (writer.lastWriteAt > silentSince) continue;
      const { response } = writer;
      if (responseDestroyed(response) || response.writableEnded) continue;
      // A client that is not reading has bytes pending already; a comment would only pile up.
      if (responseNeedsDrain(response) || (keepAlive.ready && !keepAlive.ready())) continue;
      writer.writeNow(keepAlive.chunk);
    }
  }
}

/** The running wheels by threshold; a wheel's timer stops once its last stream ends. */
const wheels = new Map<number, KeepAliveWheel>();

/**
 * Writes `keepAlive.chunk` whenever the writer's stream has written nothing for
 * `keepAlive.idleMs`, so proxies and load balancers with idle timeouts never cut a quiet
 * stream. Any write resets the clock (the wheel reads `writer.lastWriteAt`), so a busy stream
 * costs no timer work per event. Until `stopKeepAlive()`.
 */
export function startKeepAlive(writer: BatchedWriter, keepAlive: KeepAlive): void {
  let wheel = wheels.get(keepAlive.idleMs);
  if (!wheel) {
    wheel = new KeepAliveWheel(keepAlive.idleMs);
    wheels.set(keepAlive.idleMs, wheel);
  }
  wheel.streams.set(writer, keepAlive);
}

export function stopKeepAlive(writer: BatchedWriter, keepAlive: KeepAlive): void {
  const wheel = wheels.get(keepAlive.idleMs);
  if (!wheel?.streams.delete(writer) || wheel.streams.size > 0) return;
  wheel.stop();
  wheels.delete(keepAlive.idleMs);
}

/** @internal for tests: streams kept alive right now, and the timers doing it. */
export function keepAliveLoad(): { streams: number; timers: number } {
  let streams = 0;
  for (const wheel of wheels.values()) streams += wheel.streams.size;
  return { streams, timers: wheels.size };
}
