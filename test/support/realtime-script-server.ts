// A small scripted peer that speaks docs/protocol.md (sluice.v1) on a real ws WebSocketServer
// on 127.0.0.1, for testing sluice/client without app.realtime: an in-memory log per topic,
// subscribe with since/replay/reset, publish deduplicated by mid, a few methods, and knobs
// for what a test needs to break (drop connections, refuse, lose a reply).
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { ClientFrame, ServerFrame } from "../../src/protocol/frames.js";

interface Stored {
  id: string;
  event: string;
  data: unknown;
}

export interface ScriptServerOptions {
  port?: number;
  /** Messages kept per topic; older ones are trimmed (a since before them gets a reset). */
  history?: number;
}

export class RealtimeScriptServer {
  readonly logs = new Map<string, Stored[]>();
  /** Every frame received, in order, with the connection's number. */
  readonly received: { connection: number; frame: ClientFrame }[] = [];
  /** The subprotocols each connection offered, in order. */
  readonly offered: string[][] = [];
  /** Close each new connection at once with this code and reason (after the handshake). */
  refuse: { code: number; reason: string } | undefined;
  /** The rate the welcome announces (null: none). */
  messageRate: { messages: number; perMs: number } | null = null;
  /** Store the next publish, then cut the connection before its reply. */
  loseNextPublishReply = false;
  /** Select this subprotocol instead of sluice.v1. */
  selectProtocol: string | undefined;
  /** Replies to the `hold` calls received so far, sent by releaseHeld(). */
  #held: (() => void)[] = [];
  #server: WebSocketServer | undefined;
  #port: number;
  #history: number;
  #counters = new Map<string, number>();
  #mids = new Map<string, string>();
  #subscribers = new Map<WebSocket, Set<string>>();
  #connections = 0;
  #flaky = new Map<string, number>();

  constructor(options: ScriptServerOptions = {}) {
    this.#port = options.port ?? 0;
    this.#history = options.history ?? 1000;
  }

  static async start(options: ScriptServerOptions = {}): Promise<RealtimeScriptServer> {
    const server = new RealtimeScriptServer(options);
    await server.listen();
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#port}/rt`;
  }

  get port(): number {
    return this.#port;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  get open(): number {
    return this.#subscribers.size;
  }

  async listen(): Promise<void> {
    const server = new WebSocketServer({
      host: "127.0.0.1",
      port: this.#port,
      handleProtocols: (protocols) => {
        if (this.selectProtocol !== undefined) return this.selectProtocol;
        return protocols.has("sluice.v1") ? "sluice.v1" : false;
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    server.on("connection", (socket, request) => this.#accept(socket, request.headers));
  }

  /** Stops listening and cuts every connection (1006 for the clients: no close frame). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const socket of server.clients) socket.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes every connection with `code` (a close frame), or cuts them without one. */
  drop(code?: number, reason = ""): void {
    for (const socket of this.#subscribers.keys()) {
      if (code === undefined) socket.terminate();
      else socket.close(code, reason);
    }
  }

  /** Publishes as the server would for another client; resolves the id. */
  publish(topic: string, data: unknown, event = "message"): string {
    const id = `${topic}-${(this.#counters.get(topic) ?? 0) + 1}`;
    this.#counters.set(topic, (this.#counters.get(topic) ?? 0) + 1);
    const log = this.logs.get(topic) ?? [];
    log.push({ id, event, data });
    if (log.length > this.#history) log.shift();
    this.logs.set(topic, log);
    for (const [socket, topics] of this.#subscribers)
      if (topics.has(topic)) send(socket, { type: "message", topic, id, event, data });
    return id;
  }

  /** Sends `frame` as it is to every connection following `topic` (to play a buggy server). */
  sendToSubscribers(topic: string, frame: ServerFrame): void {
    for (const [socket, topics] of this.#subscribers) if (topics.has(topic)) send(socket, frame);
  }

  /** Replies (with their params) to every `hold` call received so far. */
  releaseHeld(): void {
    for (const reply of this.#held.splice(0)) reply();
  }

  framesOf(type: ClientFrame["type"]): ClientFrame[] {
    return this.received.filter(({ frame }) => frame.type === type).map(({ frame }) => frame);
  }

  #accept(socket: WebSocket, headers: Record<string, string | string[] | undefined>): void {
    const connection = ++this.#connections;
    const header = headers["sec-websocket-protocol"];
    this.offered.push(typeof header === "string" ? header.split(",").map((p) => p.trim()) : []);
    if (this.refuse) {
      socket.close(this.refuse.code, this.refuse.reason);
      return;
    }
    this.#subscribers.set(socket, new Set());
    socket.on("close", () => this.#subscribers.delete(socket));
    send(socket, {
      type: "welcome",
      clientId: `c${connection}`,
      protocol: "sluice.v1",
      heartbeat: 0,
      messageRate: this.messageRate,
      expiresIn: null,
    });
    socket.on("message", (raw) => {
      let frame: ClientFrame;
      try {
        frame = JSON.parse(String(raw)) as ClientFrame;
      } catch {
        send(socket, invalid(null, "not JSON"));
        return;
      }
      this.received.push({ connection, frame });
      this.#handle(socket, frame);
    });
  }

  #handle(socket: WebSocket, frame: ClientFrame): void {
    const topics = this.#subscribers.get(socket);
    if (!topics) return;
    switch (frame.type) {
      case "subscribe":
        this.#subscribe(socket, topics, frame);
        break;
      case "unsubscribe":
        topics.delete(frame.topic);
        send(socket, { type: "reply", ref: frame.ref, ok: true, result: null });
        break;
      case "publish":
        this.#publish(socket, frame);
        break;
      case "call":
        this.#call(socket, frame);
        break;
      default:
        send(socket, invalid((frame as { ref?: number }).ref ?? null, "unknown type"));
    }
  }

  #subscribe(
    socket: WebSocket,
    topics: Set<string>,
    frame: Extract<ClientFrame, { type: "subscribe" }>,
  ): void {
    const { ref, topic, since, replay } = frame;
    if (topic.startsWith("forbidden")) {
      const error = {
        code: "forbidden" as const,
        message: `Not allowed to subscribe to "${topic}"`,
      };
      send(socket, { type: "reply", ref, ok: false, error });
      return;
    }
    if (topic.startsWith("flaky") && (this.#flaky.get(topic) ?? 0) < 2) {
      // The first two subscribes of a flaky topic fail as a broker in trouble would.
      this.#flaky.set(topic, (this.#flaky.get(topic) ?? 0) + 1);
      const error = { code: "unavailable" as const, message: "The broker could not subscribe" };
      send(socket, { type: "reply", ref, ok: false, error });
      return;
    }
    const log = this.logs.get(topic) ?? [];
    const newest = log.at(-1)?.id ?? `${topic}-0`;
    topics.add(topic);
    if (since !== undefined) {
      send(socket, { type: "reply", ref, ok: true, result: { position: since } });
      // Ids are "<topic>-<n>": known when n is within what the log still holds (or just before).
      const counter = this.#counters.get(topic) ?? 0;
      const n = Number(since.slice(topic.length + 1));
      const known =
        since.startsWith(`${topic}-`) &&
        Number.isInteger(n) &&
        n >= counter - log.length &&
        n <= counter;
      if (!known) {
        send(socket, { type: "reset", topic, id: newest, reason: "trimmed", since });
        return;
      }
      for (const stored of log.slice(log.length - (counter - n)))
        send(socket, { type: "message", topic, ...stored });
      return;
    }
    if (replay !== undefined && log.length > 0) {
      send(socket, { type: "reply", ref, ok: true, result: { position: null } });
      for (const stored of log.slice(-replay)) send(socket, { type: "message", topic, ...stored });
      return;
    }
    send(socket, { type: "reply", ref, ok: true, result: { position: newest } });
  }

  #publish(socket: WebSocket, frame: Extract<ClientFrame, { type: "publish" }>): void {
    const { ref, topic, mid } = frame;
    const key = `${topic}\n${mid}`;
    let id = mid === undefined ? undefined : this.#mids.get(key);
    if (id === undefined) {
      id = this.publish(topic, frame.data, frame.event);
      if (mid !== undefined) this.#mids.set(key, id);
    }
    if (this.loseNextPublishReply) {
      this.loseNextPublishReply = false;
      socket.terminate();
      return;
    }
    send(socket, { type: "reply", ref, ok: true, result: { id } });
  }

  #call(socket: WebSocket, frame: Extract<ClientFrame, { type: "call" }>): void {
    const { ref, method, params } = frame;
    if (method === "echo") {
      send(socket, { type: "reply", ref, ok: true, result: params });
      return;
    }
    if (method === "never") return;
    if (method === "hold") {
      this.#held.push(() => send(socket, { type: "reply", ref, ok: true, result: params }));
      return;
    }
    const error = { code: "not_found" as const, message: `No method "${method}"` };
    send(socket, { type: "reply", ref, ok: false, error });
  }
}

function invalid(ref: number | string | null, message: string): ServerFrame {
  return { type: "reply", ref, ok: false, error: { code: "invalid", message } } as ServerFrame;
}

function send(socket: WebSocket, frame: ServerFrame): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}
