import type { SluiceWebSocket } from "./sluice-websocket.js";

/**
 * Pings every socket of one interval from a single timer and drops those that have not
 * answered the previous ping. A socket whose own handler is behind (its peer's data is not
 * being read, so neither is the pong) is not judged until the handler catches up.
 */
export class Heartbeat {
  private readonly sockets = new Set<SluiceWebSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly onDead: (socket: SluiceWebSocket) => void,
  ) {}

  add(socket: SluiceWebSocket): void {
    this.sockets.add(socket);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(socket: SluiceWebSocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    for (const socket of this.sockets) {
      if (socket.pingUnlessUnanswered()) continue;
      this.sockets.delete(socket);
      this.onDead(socket);
    }
  }
}
