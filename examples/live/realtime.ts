// The page's one connection: the real-time endpoint (docs/protocol.md) on REALTIME_PATH,
// which the page reaches with `connect()` from sluice/client. It carries the chat (a topic per
// room, chat.ts), who is in each room (methods and a presence topic, presence.ts) and the
// dashboard's ticks. The client reconnects by itself and resumes every topic from the last
// message it delivered, and resends the publishes whose acks it did not get.
//
// The sign-in middleware has run before (the upgrade of a visitor who is not signed in is
// closed with 4401); `onConnect` ties the socket to its session: signing out (in any tab, on
// any process) closes it, and ends the endpoint's SSE streams of that session too. Each socket may send CHAT_OPTIONS.messageRate frames: one more
// closes it with 1008.
import { type App, CloseCode, type RealtimeContext, type SluiceWebSocket } from "sluice";
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
        presence.join(ctx.clientId, roomParam(params), sessionOf(ctx).name);
        return null;
      },
      leave(_params, ctx) {
        presence.leave(ctx.clientId);
        return null;
      },
    },
    onConnect(ctx) {
      const socket = ctx.socket as SluiceWebSocket;
      const ended = sessions.endingOf(sessionOf(ctx));
      const signedOut = () => socket.close(CloseCode.policyViolation, "Signed out");
      ended.addEventListener("abort", signedOut, { once: true });
      if (ended.aborted) signedOut(); // signed out while this socket was opening
      sockets.add(socket);
      void socket.closed.then(() => {
        ended.removeEventListener("abort", signedOut);
        sockets.delete(socket);
        presence.leave(ctx.clientId);
      });
    },
  });

  // Its SSE side (GET /rt?topic=...) ends with the session too. (The listener goes with the
  // connection: a keep-alive one, cut on sign-out after serving something else, just reconnects.)
  app.use(REALTIME_PATH, (req, next) => {
    if (req.header("upgrade") === undefined) {
      const socket = req.raw.socket;
      const ended = sessions.endingOf(req.state.session as Session);
      const cut = () => socket.destroy();
      ended.addEventListener("abort", cut, { once: true });
      socket.once("close", () => ended.removeEventListener("abort", cut));
    }
    return next();
  });

  return {
    dropSockets() {
      const count = sockets.size;
      for (const socket of sockets) socket.terminate();
      return count;
    },
  };
}
