import type { ServerResponse } from "node:http";
import type { BatchedWriter } from "./batched-writer.js";
import { needsDrain } from "./direct-chunk.js";
import type { StreamChunk } from "./streaming-response.js";

/**
 * Writes `chunk` whenever the stream has written nothing for `idleMs`, so proxies and load
 * balancers with idle timeouts never cut a quiet stream. Any write resets the clock: the timer
 * only looks at the writer's last write time when it fires, so a busy stream costs no timer
 * work per event. Returns the function that stops it.
 */
export function keepAlive(
  writer: BatchedWriter,
  response: ServerResponse,
  idleMs: number,
  chunk: StreamChunk,
  ready: () => boolean = always,
): () => void {
  let timer: NodeJS.Timeout;
  const check = () => {
    if (response.destroyed || response.writableEnded) return;
    const idle = performance.now() - writer.lastWriteAt;
    // Timers are rounded to whole milliseconds: allow for one.
    if (idle < idleMs - 1) {
      timer = setTimeout(check, Math.max(1, Math.ceil(idleMs - idle)));
      return;
    }
    // A client that is not reading has bytes pending already; a comment would only pile up.
    if (!needsDrain(response) && ready()) {
      writer.push(chunk);
      writer.flush();
    }
    timer = setTimeout(check, idleMs);
  };
  timer = setTimeout(check, idleMs);
  return () => clearTimeout(timer);
}

const always = () => true;
