// The chat's client (its server is chat-rooms.ts), for browsers and Node: join a room with its
// latest lines, see who is there and who is typing, say something. Browsers and Node 22 have
// a WebSocket class; in Node 20 pass ws's: `joinRoom(url, { ..., WebSocket })`.
import { type ConnectOptions, connect, type PresenceMember } from "sluice/client";

// #region client
export interface ChatLine {
  from: string;
  text: string;
}

export interface JoinOptions extends ConnectOptions {
  room: string;
  /** Your name as your token says it: the server refuses what is signed otherwise. */
  name: string;
  /** Gets a fresh token: at each connect, and again shortly before the last one expires. */
  token: () => Promise<string>;
}

export function joinRoom(url: string, { room, name, ...options }: JoinOptions) {
  const rt = connect(url, options);
  const topic = `room:${room}`;
  const lines: ChatLine[] = []; // the latest 50, then each new one: none lost, none twice
  const typing = new Map<string, number>(); // who typed when (ms): show the last few seconds'
  const members = new Map<string, PresenceMember>(); // by connection: a user's tabs are several
  const sub = rt.subscribe<ChatLine>(
    topic,
    { replay: 50, presence: true, joinLeave: true }, // presence: the server names us
    ({ event, data }) => {
      if (event === "typing") typing.set(data.from, Date.now());
      else {
        typing.delete(data.from); // a line ends the notice
        lines.push(data);
      }
    },
  );
  sub.on("join", (member) => members.set(member.clientId, member));
  sub.on("leave", (member) => members.delete(member.clientId));
  const listMembers = async () => {
    for (const member of await sub.presence()) members.set(member.clientId, member);
  };
  const ready = sub.ready.then(listMembers);
  // Leaves are live-only: those missed while reconnecting never come, so list them afresh.
  let away = false;
  rt.on("state", (state) => {
    if (state === "reconnecting") {
      away = true;
      members.clear();
    } else if (state === "open" && away) {
      away = false;
      listMembers().catch(() => {}); // closed again: the next open lists them
    }
  });
  return {
    rt,
    lines,
    typing,
    members,
    ready,
    say: (text: string) => rt.publish(topic, { from: name, text }),
    // Live-only (never stored, never replayed) and not delivered back to this client.
    typed: () => rt.publish(topic, { from: name }, { event: "typing", store: false, echo: false }),
  };
}
// #endregion
