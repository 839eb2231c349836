// The page's one connection: the real-time endpoint (docs/protocol.md) on REALTIME_PATH,
// which the page reaches with `connect()` from sluice/client. It carries the chat (a topic per
// room, chat.ts), who is in each room (the topic's presence) and the dashboard's ticks. The
// client reconnects by itself and resumes every topic from the last message it delivered, and
// resends the publishes whose acks it did not get.
//
// The sign-in middleware has run before (the upgrade of a visitor who is not signed in is
// closed with 4401); `onConnect` ties each socket, and each stream of the endpoint's SSE side,
// to its session: signing out (in any tab, on any process) ends them. Each socket may send
// CHAT_OPTIONS.messageRate frames: one more closes it with 1008.
import { type App, CloseCode, HttpError, type RealtimeContext, type SluiceWebSocket } from "sluice";
import { isChatMessage, isRoomTopic, isTypingNotice, ROOMS, roomTopic } from "./chat.js";
import type { Cluster } from "./cluster.js";
import { DASHBOARD_TOPIC } from "./dashboard.js";
import type { Session, Sessions } from "./sessions.js";

export const REALTIME_PATH = "/rt";
export const CHAT_OPTIONS = {
  maxPayload: 4096,
  // A burst of 30 frames, then 3 a second: far more than anyone types. A script that sends
  // faster is closed with 1008, and the frames past the limit are never read.
  messageRate: { messages: 30, perMs: 10_000 },
};

export interface Realtime {
  /** Cuts every open socket of the endpoint, as a network failure would; returns how many. */
  dropSockets(): number;
}

const sessionOf = (ctx: RealtimeContext) => ctx.request.state.session as Session;

export function addRealtime(app: App, cluster: Cluster, sessions: Sessions): Realtime {
  const sockets = new Set<SluiceWebSocket>();

  // No `origins`: sluice's default lets in only the page's own origin (cross-site pages
  // would otherwise open sockets with the visitor's session cookie).
  app.realtime(REALTIME_PATH, {
    ...CHAT_OPTIONS,
    subscribe: [...ROOMS.map(roomTopic), DASHBOARD_TOPIC],
    publish(topic, data, ctx) {
      const name = sessionOf(ctx).name;
      if (!isRoomTopic(topic) || !(isChatMessage(data, name) || isTypingNotice(data, name)))
        return false;
      cluster.count(); // for the dashboard's events/s
      return true;
    },
    // A room's member is listed under the session's name, whatever the page offers; the
    // broker keeps the list on every process (on Redis, across them).
    presence: (ctx, topic) => (isRoomTopic(topic) ? { name: sessionOf(ctx).name } : undefined),
    methods: { rooms: () => ROOMS },
    onConnect(ctx) {
      // Called for each WebSocket and each SSE stream of the endpoint, after the sign-in
      // middleware: both end when their session does (and a socket leaves its room's presence).
      const ended = sessions.endingOf(sessionOf(ctx));
      if (ended.aborted) throw new HttpError(401, "Signed out"); // while this one was opening
      const { socket } = ctx;
      const signedOut = socket
        ? () => socket.close(CloseCode.policyViolation, "Signed out")
        : () => ctx.request.raw.socket.destroy();
      ended.addEventListener("abort", signedOut, { once: true });
      if (socket) sockets.add(socket);
      const gone = () => {
        ended.removeEventListener("abort", signedOut);
        if (socket) sockets.delete(socket);
      };
      ctx.request.signal.addEventListener("abort", gone, { once: true });
    },
  });

  return {
    dropSockets() {
      const count = sockets.size;
      for (const socket of sockets) socket.terminate();
      return count;
    },
  };
}
