// Chat rooms over WebSockets. Each room is a topic ("room:<name>"): a message is published
// once and every member, on this process or another sharing the broker, gets the same
// envelope frame {"topic","id","event","data"}. The topic's log gives history: a new member
// gets the room's recent messages, and a member coming back after a dropped connection sends
// the id of the last message it saw and gets exactly what it missed.
//
// The rooms are a fixed list (ROOMS): each room is a topic with a log, so rooms made up by
// visitors would let anyone grow the server's memory one name at a time. Each socket may
// send CHAT_OPTIONS.messageRate frames: one more closes it with 1008.
//
// Client -> server (JSON text frames):
//   {"type":"join","room":"lobby","lastId"?:"..."}    join (or switch to) a room
//   {"type":"message","text":"hi"}                    say something in the room
// Server -> client:
//   {"type":"hello","name","rooms":[...]}             on connect: who you are, the rooms
//   {"type":"joined","room"}                          then the replay, then live messages
//   {"topic","id","event":"message","data":{"name","text","at"}}   a message (replayed or live)
//   {"topic","id","event":"reset","data":{...}}       lastId is gone from the log: join afresh
//   {"type":"presence","room","names":[...]}          who is in the room, whenever it changes
//   {"type":"error","code","message"}                 a refused frame; the socket stays open
import {
  type App,
  CloseCode,
  type SluiceWebSocket,
  WebSocketMessage,
  type WebSocketOptions,
} from "sluice";
import type { Cluster } from "./cluster.js";
import type { Session, Sessions } from "./sessions.js";

/** The rooms there are; joining any other is refused. */
export const ROOMS: readonly string[] = ["lobby", "kitchen", "garden", "library", "studio"];
const ROOM_SET = new Set(ROOMS);
export const CHAT_OPTIONS = {
  maxPayload: 4096,
  // A burst of 30 frames, then 3 a second: far more than anyone types. A script that sends
  // faster is closed with 1008, and the frames past the limit are never read.
  messageRate: { messages: 30, perMs: 10_000 },
} satisfies WebSocketOptions;
export const MAX_TEXT_LENGTH = 500;
/** Messages a new member gets from the room's log. */
export const HISTORY_ON_JOIN = 50;
const roomTopic = (room: string) => `room:${room}`;

class ChatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Chat {
  /** room -> names of the people in it on this process */
  rooms(): Record<string, string[]>;
  /** Re-sends presence where it changed (a server that stopped reporting is gone). */
  refreshPresence(): void;
}

export function createChat(app: App, cluster: Cluster, sessions: Sessions): Chat {
  /** room -> member socket -> name */
  const rooms = new Map<string, Map<SluiceWebSocket, string>>();
  /** room -> the presence list last sent to its members here */
  const sentPresence = new Map<string, string>();

  function localNames(room: string): string[] {
    return [...(rooms.get(room)?.values() ?? [])];
  }

  /** Tells this process's members of `room` who is in it, if that changed. */
  function syncPresence(room: string, force?: SluiceWebSocket): void {
    const members = rooms.get(room);
    const names = new Set(localNames(room));
    for (const peer of cluster.livePeers())
      if (Object.hasOwn(peer.rooms, room)) for (const name of peer.rooms[room]) names.add(name);
    const sorted = [...names].sort((a, b) => a.localeCompare(b));
    const json = JSON.stringify(sorted);
    if (!members || members.size === 0) {
      sentPresence.delete(room);
      return;
    }
    const frame = WebSocketMessage.json({ type: "presence", room, names: sorted });
    if (sentPresence.get(room) !== json) {
      sentPresence.set(room, json);
      for (const member of members.keys()) member.send(frame).catch(() => {});
    } else if (force) {
      force.send(frame).catch(() => {});
    }
  }

  function syncAllPresence(): void {
    for (const room of rooms.keys()) syncPresence(room);
  }
  cluster.onPeerRooms = syncAllPresence;

  let reportQueued = false;
  /** Tells the other processes about a join or leave now rather than at the next tick. */
  function reportSoon(): void {
    if (reportQueued) return;
    reportQueued = true;
    setImmediate(() => {
      reportQueued = false;
      cluster
        .report(chat.rooms())
        .catch((error) => app.logger.warn({ err: error }, "presence report failed"));
    });
  }

  function addMember(room: string, socket: SluiceWebSocket, name: string): void {
    const members = rooms.get(room) ?? new Map<SluiceWebSocket, string>();
    rooms.set(room, members);
    members.set(socket, name);
    syncPresence(room, socket);
    reportSoon();
  }

  function removeMember(room: string, socket: SluiceWebSocket): void {
    const members = rooms.get(room);
    if (!members?.delete(socket)) return;
    if (members.size === 0) rooms.delete(room);
    syncPresence(room);
    reportSoon();
  }

  function parse(raw: string | Buffer): Record<string, unknown> {
    if (typeof raw !== "string") throw new ChatError("binary", "Send JSON text frames, not binary");
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ChatError("invalid-json", "Invalid JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new ChatError("bad-request", 'Send an object with a "type"');
    return value as Record<string, unknown>;
  }

  // No `origins`: sluice's default lets in only the page's own origin (cross-site pages
  // would otherwise open sockets with the visitor's session cookie).
  app.websocket("/ws/chat", CHAT_OPTIONS, async (socket, req) => {
    // Set by the sign-in middleware, or no upgrade.
    const session = req.state.session as Session;
    const name = session.name;
    let room: string | undefined;
    // Signing out (in any tab, on any process) closes the session's sockets too.
    const ended = sessions.endingOf(session);
    const signedOut = () => socket.close(CloseCode.policyViolation, "Signed out");
    ended.addEventListener("abort", signedOut, { once: true });

    const leave = () => {
      if (room === undefined) return;
      socket.unsubscribe(roomTopic(room));
      removeMember(room, socket);
      room = undefined;
    };

    async function join(message: Record<string, unknown>): Promise<void> {
      const wanted = message.room;
      if (typeof wanted !== "string" || !ROOM_SET.has(wanted))
        throw new ChatError("bad-room", `There is no such room; the rooms are ${ROOMS.join(", ")}`);
      const lastId = message.lastId;
      if (lastId !== undefined && (typeof lastId !== "string" || lastId.length > 64))
        throw new ChatError("bad-request", "lastId must be a message id");
      leave();
      room = wanted;
      const topic = roomTopic(room);
      await socket.sendJson({ type: "joined", room });
      try {
        if (lastId) {
          // Coming back: the log replays what came after lastId, then live messages follow.
          await socket.subscribe(topic, { lastEventId: lastId });
        } else {
          // New here: the room's recent messages, then live ones from right after the last.
          // (Only a room with no log yet leaves a moment in which a message could be missed.)
          const recent = await app.history(topic, { limit: HISTORY_ON_JOIN });
          for (const past of recent) await socket.send(past.webSocketMessage);
          await socket.subscribe(topic, { lastEventId: recent.at(-1)?.id });
        }
      } catch (error) {
        room = undefined;
        if (socket.signal.aborted) throw error; // gone: nothing to tell
        req.log.warn({ err: error }, "joining a room failed");
        socket.unsubscribe(topic);
        throw new ChatError("unavailable", "The room could not be joined; try again");
      }
      addMember(wanted, socket, name);
    }

    async function say(message: Record<string, unknown>): Promise<void> {
      if (room === undefined) throw new ChatError("not-joined", "Join a room first");
      if (typeof message.text !== "string")
        throw new ChatError("bad-request", "text must be a string");
      const text = message.text.trim();
      if (text === "") throw new ChatError("empty", "Say something: the message is empty");
      if (text.length > MAX_TEXT_LENGTH)
        throw new ChatError("too-long", `A message is at most ${MAX_TEXT_LENGTH} characters`);
      try {
        await cluster.publish(
          roomTopic(room),
          { name, text, at: Date.now() },
          { event: "message" },
        );
      } catch (error) {
        req.log.warn({ err: error }, "chat publish failed");
        throw new ChatError("unavailable", "The message could not be stored; try again");
      }
    }

    try {
      await socket.sendJson({ type: "hello", name, rooms: ROOMS });
      for await (const raw of socket) {
        try {
          const message = parse(raw);
          if (message.type === "join") await join(message);
          else if (message.type === "message") await say(message);
          else throw new ChatError("bad-request", 'type must be "join" or "message"');
        } catch (error) {
          if (!(error instanceof ChatError)) throw error;
          await socket.sendJson({ type: "error", code: error.code, message: error.message });
        }
      }
    } finally {
      ended.removeEventListener("abort", signedOut);
      leave();
    }
  });

  const chat: Chat = {
    rooms() {
      const result: Record<string, string[]> = {};
      for (const room of rooms.keys()) result[room] = [...new Set(localNames(room))];
      return result;
    },
    refreshPresence: syncAllPresence,
  };
  return chat;
}
