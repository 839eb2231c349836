// A client of app.realtime() written by hand with `ws`: it speaks sluice.v1 frame by frame,
// so the tests see exactly what the server sends (docs/protocol.md).
import WebSocket from "ws";
import { waitFor } from "./wait.js";

export type Frame = Record<string, unknown> & { type: string };

/** The `type` of a recorded frame that was not JSON (its text is in `text`). */
export const NOT_JSON = "<not JSON>";

export class RealtimePeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextRef = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) throw new Error("the server sent a binary frame");
      const text = data.toString();
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        // Kept, not thrown: a test asserts that the server never sends such a frame.
        this.frames.push({ type: NOT_JSON, text });
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens a connection offering sluice.v1 (and the rest of `protocols`) and waits for it. */
  static async connect(
    url: string,
    options: { protocols?: string[]; headers?: Record<string, string> } = {},
  ): Promise<RealtimePeer> {
    const ws = new WebSocket(url, options.protocols ?? ["sluice.v1"], { headers: options.headers });
    const peer = new RealtimePeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return peer;
  }

  /** Sends a request with a fresh ref (unless it has one) and resolves its reply. */
  async request(frame: Record<string, unknown>): Promise<Frame> {
    const ref = frame.ref ?? this.#nextRef++;
    this.ws.send(JSON.stringify({ ...frame, ref }));
    return this.reply(ref);
  }

  /** The reply carrying `ref`, once it came. */
  async reply(ref: unknown): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(
      () => {
        found = this.frames.find((frame) => frame.type === "reply" && frame.ref === ref);
        return found !== undefined;
      },
      `the reply to ref ${JSON.stringify(ref)}`,
    );
    return found as Frame;
  }

  /** The message and reset frames of a topic received so far. */
  messagesOf(topic: string): Frame[] {
    return this.frames.filter(
      (frame) => (frame.type === "message" || frame.type === "reset") && frame.topic === topic,
    );
  }

  /** Waits until `count` message/reset frames of the topic arrived; resolves them. */
  async waitForMessages(topic: string, count: number, timeout = 2000): Promise<Frame[]> {
    await waitFor(
      () => this.messagesOf(topic).length >= count,
      `${count} messages of ${topic}`,
      timeout,
    );
    return this.messagesOf(topic);
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
