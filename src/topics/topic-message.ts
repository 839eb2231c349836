import { type SseEvent, sseEventOfJson } from "../sse/sse-event.js";
import { WebSocketMessage } from "../websocket/websocket-message.js";
import { LIVE_ONLY_ID, type StoredMessage } from "./broker.js";

/** The event type of the message that tells a client its last id is gone (see app.subscribe). */
export const RESET_EVENT = "reset";

/** A raw CR or LF: it would end an SSE `data:` line. */
const LINE_BREAK = /[\r\n]/;

/**
 * A published message as subscribers and `app.history()` see it. Its wire forms (the SSE
 * event, the WebSocket envelope frame) are built on first use and then shared, so a message
 * fanned out to a thousand clients is serialised once per format.
 */
export class TopicMessage {
  readonly topic: string;
  /**
   * Orders the message within its topic; what SSE clients send back as Last-Event-ID. ""
   * for a live-only message (`store: false`, presence events): no resume point.
   */
  readonly id: string;
  /** The event type given to publish(), if any. */
  readonly event: string | undefined;
  private readonly json: string;
  private parsed: { value: unknown } | undefined;
  private sse: SseEvent | undefined;
  private frame: WebSocketMessage | undefined;
  private protocolFrame: WebSocketMessage | undefined;
  private protocolSseBody: Buffer | undefined;
  private protocolSseFrame: Buffer | undefined;
  /**
   * @internal Set on the message a resuming subscriber gets when its last id is gone: why,
   * and the id it asked to resume after.
   */
  resetOf: { readonly reason: "trimmed" | "unknown"; readonly since: string } | undefined;
  /** @internal Set on a presence event: a member joined or left (its data is the member). */
  readonly presence: "join" | "leave" | undefined;

  constructor(stored: StoredMessage) {
    this.presence = stored.presence;
    this.topic = stored.topic;
    this.id = stored.id;
    this.event = stored.event;
    this.json = stored.json;
  }

  /** The published data, as it came back from JSON. */
  get data(): unknown {
    this.parsed ??= { value: JSON.parse(this.json) };
    return this.parsed.value;
  }

  /**
   * The message as an SSE event: its id, its event type, its data. Data that is not a string
   * goes out as the JSON text the broker holds, not stringified again. The text is still
   * parsed once (into `data`, what a handler iterating a subscription reads): a broker may
   * hand back text another process wrote, and text that is not JSON must fail here rather
   * than reach clients. A live-only message's event has no id (no `id:` line: an empty one
   * would reset an EventSource's last event id, and its resume point with it).
   */
  get sseEvent(): SseEvent {
    const id = this.id === LIVE_ONLY_ID ? undefined : this.id;
    this.sse ??= sseEventOfJson({ id, event: this.event }, this.data, this.json);
    return this.sse;
  }

  /**
   * The message as a WebSocket text frame holding the envelope
   * `{"topic","id","event","data"}` (event "message" when none was given). The data's JSON
   * is spliced in as it is: nothing is stringified again.
   */
  get webSocketMessage(): WebSocketMessage {
    this.frame ??= WebSocketMessage.text(
      `{"topic":${JSON.stringify(this.topic)},"id":${JSON.stringify(this.id)},"event":${JSON.stringify(this.event ?? "message")},"data":${this.json}}`,
    );
    return this.frame;
  }

  /**
   * @internal The message as a frame of the sluice.v1 protocol (docs/protocol.md): a
   * `{"type":"message",...}` frame, or a `{"type":"reset",...}` one for a reset. Built once
   * and shared by every subscriber. Throws a SyntaxError when the stored text is not JSON
   * (see realtimeFields): the caller drops the message.
   */
  get realtimeFrame(): WebSocketMessage {
    this.protocolFrame ??= WebSocketMessage.text(
      `{"type":${this.resetOf ? '"reset"' : '"message"'},${this.realtimeFields(false)}}`,
    );
    return this.protocolFrame;
  }

  /**
   * @internal The `event:` and `data:` lines of a real-time endpoint's SSE event (the data:
   * the protocol frame without its `type`), blank line included, as bytes every subscriber
   * shares: a stream writes its own `id:` line before it. Throws as realtimeFrame does.
   */
  get realtimeSseBody(): Buffer {
    this.protocolSseBody ??= Buffer.from(this.realtimeSseText());
    return this.protocolSseBody;
  }

  /**
   * @internal The whole SSE event of a stream that follows this topic alone: its position is
   * the message's id, so the frame is the same for every such subscriber. A live-only
   * message moves no position: its frame has no `id:` line.
   */
  get realtimeSseFrame(): Buffer {
    this.protocolSseFrame ??=
      this.id === LIVE_ONLY_ID
        ? this.realtimeSseBody
        : Buffer.from(`id: ${this.id}\n${this.realtimeSseText()}`);
    return this.protocolSseFrame;
  }

  private realtimeSseText(): string {
    const event = this.resetOf ? RESET_EVENT : (this.event ?? "message");
    return `event: ${event}\ndata: {${this.realtimeFields(true)}}\n\n`;
  }

  /**
   * The protocol frame's fields after `type`. The stored text is parsed once first: a broker
   * may hand back text another process wrote, and text that is not JSON must not be spliced
   * into a frame. For SSE the data must be one line: JSON text with a raw line break (legal
   * whitespace between tokens) is stringified again from the parsed value.
   */
  private realtimeFields(oneLine: boolean): string {
    const head = `"topic":${JSON.stringify(this.topic)},"id":${JSON.stringify(this.id)}`;
    const reset = this.resetOf;
    if (reset) {
      return `${head},"reason":${JSON.stringify(reset.reason)},"since":${JSON.stringify(reset.since)}`;
    }
    const data = this.data;
    const json = oneLine && LINE_BREAK.test(this.json) ? JSON.stringify(data) : this.json;
    return `${head},"event":${JSON.stringify(this.event ?? "message")},"data":${json}`;
  }

  toJSON(): { topic: string; id: string; event: string | undefined; data: unknown } {
    return { topic: this.topic, id: this.id, event: this.event, data: this.data };
  }

  /** The message a client whose last id is gone gets first: reload your state from `head` on. */
  static reset(
    topic: string,
    head: string,
    reason: "trimmed" | "unknown",
    lastEventId: string,
  ): TopicMessage {
    const json = JSON.stringify({ reason, lastEventId });
    const message = new TopicMessage({ topic, id: head, event: RESET_EVENT, json });
    message.resetOf = { reason, since: lastEventId };
    return message;
  }
}
