// The page's one connection: the real-time endpoint (docs/protocol.md) on REALTIME_PATH,
// which the page reaches with `connect()` from sluice/client. It carries the chat (a topic per
// room, chat.ts), who is in each room (methods and a presence topic, presence.ts) and the
// dashboard's ticks. The client reconnects by itself and resumes every topic from the last
// message it delivered, and resends the publishes whose acks it did not get.
//
// The sign-in middleware has run before (the upgrade of a visitor who is not signed in is
// closed with 4401); `onConnect` ties each socket, and each stream of the endpoint's SSE side,
// to its session: signing out (in any tab, on any process) ends them. Each socket may send CHAT_OPTIONS.messageRate frames: one more
// closes it with 1008.
import { type App, CloseCode, HttpError, type RealtimeContext, type SluiceWebSocket } from "sluice";
import { isChatMessage, isRoomTopic, ROOMS, roomParam, roomTopic } from "./chat.js";
import type { Cluster } from "./cluster.js";
import { DASHBOARD_TOPIC } from "./dashboard.js";
import { type Presence, presenceTopic } from "./presence.js";
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

export function addRealtime(
  app: App,
  cluster: Cluster,
  sessions: Sessions,
  presence: Presence,
): Realtime {
  const sockets = new Set<SluiceWebSocket>();

  // No `origins`: sluice's default lets in only the page's own origin (cross-site pages
  // would otherwise open sockets with the visitor's session cookie).
  app.realtime(REALTIME_PATH, {
    ...CHAT_OPTIONS,
    subscribe: [...ROOMS.map(roomTopic), ...ROOMS.map(presenceTopic), DASHBOARD_TOPIC],
    publish(topic, data, ctx) {
      if (!isRoomTopic(topic) || !isChatMessage(data, sessionOf(ctx).name)) return false;
      cluster.count(); // for the dashboard's events/s
      return true;
    },
    methods: {
      rooms: () => ROOMS,
      join(params, ctx) {
        const room = roomParam(params);
        // (Not for a socket already gone: its onConnect cleanup has run.)
        if (!ctx.request.signal.aborted) presence.join(ctx.clientId, room, sessionOf(ctx).name);
        return null;
      },
      leave(_params, ctx) {
        presence.leave(ctx.clientId);
        return null;
      },
    },
    onConnect(ctx) {
      // Called for each WebSocket and each SSE stream of the endpoint, after the sign-in
      // middleware: both end when their session does.
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
        presence.leave(ctx.clientId);
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
