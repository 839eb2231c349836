import { type NodeResponse, responseDestroyed } from "../http/node-http.js";

/**
 * A stream has ended, but its last bytes wait for a client that does not read them (a slow
 * consumer that was cut off, a tab frozen in the background): without a limit it would hold
 * its connection, and those bytes, for as long as the client stays connected. Each
 * `timeoutMs` the bytes still queued are compared: no progress at all, and the connection is
 * cut. A client that reads, however slowly, is left to finish.
 */
export function cutIfNeverTaken(response: NodeResponse, timeoutMs: number): void {
  if (response.writableFinished || responseDestroyed(response) || timeoutMs === 0) return;
  let queued = response.writableLength;
  const timer = setInterval(() => {
    if (response.writableFinished || responseDestroyed(response)) return stop();
    const now = response.writableLength;
    if (now < queued) {
      queued = now;
      return;
    }
    stop();
    response.destroy();
  }, timeoutMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    response.off("finish", stop);
    response.off("close", stop);
  };
  response.once("finish", stop);
  response.once("close", stop);
}
