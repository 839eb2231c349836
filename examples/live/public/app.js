// The live demo page: plain JavaScript, no build step. Sign-in sets an HttpOnly cookie that
// the browser then sends with fetch and the WebSocket (same origin). The dashboard and the
// chat share one real-time connection from sluice/client (served by the app at /client.js):
// it reconnects by itself, resumes every topic after the last message it delivered (nothing
// missed, nothing shown twice) and resends the messages whose acks it did not get.
import { connect } from "/client.js";

const $ = (id) => document.getElementById(id);
const MAX_ITEMS = 200;

function setStatus(id, state) {
  const element = $(id);
  element.textContent = state;
  element.dataset.state = state;
}

/** Appends an item to a list, dropping the oldest beyond MAX_ITEMS, and keeps it scrolled. */
function append(list, item) {
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  while (list.children.length > MAX_ITEMS) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// ---- sign-in ---------------------------------------------------------------------------

let started = false;
/** The signed-in name: a chat message carries it, and the server checks it is the session's. */
let me = "";

async function checkSession() {
  const response = await fetch("/api/me");
  if (response.ok) signedIn((await response.json()).name);
  else signedOut();
  return response.ok;
}

function signedIn(name) {
  me = name;
  $("whoami").textContent = name;
  $("signin-form").hidden = true;
  $("signout").hidden = false;
  $("app").hidden = false;
  if (started) return;
  started = true;
  start();
}

function signedOut() {
  started = false;
  rt?.close();
  rt = undefined;
  showState("closed");
  $("whoami").textContent = "";
  $("signout").hidden = true;
  $("app").hidden = true;
  $("signin-form").hidden = false;
  $("name").focus();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const response = await fetch("/api/signin", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: $("name").value }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) signedIn(body.name);
  else $("signin-error").textContent = body.message ?? `Sign-in failed (${response.status})`;
});

$("signout").addEventListener("click", async () => {
  await fetch("/api/signout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  signedOut();
});

// ---- the real-time connection -------------------------------------------------------------

const ROOM_HISTORY = 50; // messages replayed when entering a room
let rt;

function start() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const connection = connect(`${scheme}://${location.host}/rt`);
  rt = connection;
  connection.on("state", (state) => rt === connection && showState(state));
  connection.on("state", (state) => {
    if (state !== "open") return;
    connection.call("rooms").then(showRooms, showChatError);
    // The subscriptions resume by themselves, but the joins and leaves of the time offline
    // are gone: read who is in the room afresh.
    if (rt === connection) roster?.reread();
  });
  connection.on("close", ({ reconnecting, reason }) => {
    if (reconnecting || rt !== connection) return; // (not after signedOut() closed it)
    // Refused for good (signed out here or in another tab, the session expired): ask why.
    showState("closed");
    $("chat-error").textContent = reason ? `Disconnected: ${reason}` : "Disconnected";
    started = false; // signed in still (a refused frame, say): connect afresh
    rt = undefined;
    checkSession().catch(() => {});
  });
  followDashboard();
  enterRoom(room);
}

const STATUS = { connecting: "reconnecting", open: "connected", reconnecting: "reconnecting" };

function showState(state) {
  const shown = STATUS[state] ?? "disconnected";
  setStatus("dashboard-status", shown);
  setStatus("chat-status", shown);
}

// ---- dashboard: the "dashboard" topic ----------------------------------------------------

function followDashboard() {
  // The latest tick first, so that a new visitor sees figures at once; then every tick.
  const ticks = rt.subscribe("dashboard", { replay: 1 }, (message) => showTick(message.data));
  // Our last tick is gone from the log (the server's memory broker restarted, say).
  ticks.on("reset", () => $("ticks").replaceChildren());
}

function showTick(tick) {
  $("metric-clients").textContent = tick.clients;
  $("metric-events").textContent = tick.eventsPerSec;
  $("metric-memory").textContent = tick.rssMb;
  $("metric-tick").textContent = tick.seq;
  const item = document.createElement("li");
  item.dataset.seq = tick.seq;
  const time = new Date(tick.at).toLocaleTimeString();
  item.textContent = `#${tick.seq} ${time} · ${tick.clients} clients · ${tick.eventsPerSec} ev/s · ${tick.rssMb} MB`;
  append($("ticks"), item);
}

// ---- chat: a topic per room, its presence, and typing notices -----------------------------

let room = "lobby";
let roomSubscription;
let roster;

function enterRoom(name) {
  roomSubscription?.unsubscribe();
  room = name;
  $("messages").replaceChildren();
  $("presence").replaceChildren();
  stopTyping();
  $("chat-error").textContent = "";
  // The latest messages, then live ones; and a member of the room's presence (the server
  // lists us under our session's name), told when others join and leave.
  const options = { replay: ROOM_HISTORY, presence: true, joinLeave: true };
  const subscription = rt.subscribe(`room:${name}`, options, (message) => {
    // By the data's shape: the server's rule lets through only these two.
    if (message.data?.typing === true) showTyping(message);
    else showMessage(message);
  });
  roomSubscription = subscription;
  const people = followPresence(subscription);
  roster = people;
  subscription.ready.then(() => people.reread(), showChatError);
  subscription.on("reset", () => {
    // The last message we had is gone from the room's log: load its recent history afresh.
    if (roomSubscription === subscription) enterRoom(name);
  });
}

/**
 * Who is in the room: a list read from the server, kept up to date by the join and leave
 * events. The events that come while a list is on its way are applied again on top of it.
 */
function followPresence(subscription) {
  const members = new Map(); // client id -> name: two tabs are two members, one name
  let during; // the events since the latest reread() asked
  const apply = ({ type, member }) => {
    if (type === "join") members.set(member.clientId, member.info?.name);
    else members.delete(member.clientId);
  };
  const show = () => {
    if (roomSubscription === subscription) showPresence([...new Set(members.values())]);
  };
  for (const type of ["join", "leave"]) {
    subscription.on(type, (member) => {
      during?.push({ type, member });
      apply({ type, member });
      show();
    });
  }
  return {
    async reread() {
      const events = [];
      during = events;
      // (A read cut by a disconnect is done again once the connection is back.)
      const list = await subscription.presence().catch(() => undefined);
      if (during !== events) return; // a newer reread() is on its way
      during = undefined;
      if (!list) return;
      members.clear();
      for (const member of list) apply({ type: "join", member });
      for (const event of events) apply(event);
      show();
    },
  };
}

function showMessage(message) {
  stopTyping(message.data.name);
  const item = document.createElement("li");
  item.dataset.id = message.id;
  const name = Object.assign(document.createElement("b"), { textContent: message.data.name });
  item.append(name, `: ${message.data.text}`);
  append($("messages"), item);
}

function showPresence(names) {
  names.sort((a, b) => a.localeCompare(b));
  $("presence").replaceChildren(
    ...names.map((name) => Object.assign(document.createElement("li"), { textContent: name })),
  );
}

// "X is typing…": live-only notices (never stored, so a newcomer never sees old ones), at
// most one per TYPING_EVERY_MS from each page, each shown for TYPING_SHOWN_MS.
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 4000;
const typing = new Map(); // name -> timer that clears it
let typingSentAt = 0;

function showTyping(message) {
  // Only live-only ones (id ""): the server's rule sees the data, not the store option. Not
  // our own either (echo: false spares this tab; this spares our other tabs).
  const { name } = message.data;
  if (message.id !== "" || name === me) return;
  clearTimeout(typing.get(name));
  typing.set(
    name,
    setTimeout(() => stopTyping(name), TYPING_SHOWN_MS),
  );
  showTypingLine();
}

/** `name` sent the message, or went quiet (no name: everyone, when leaving the room). */
function stopTyping(name) {
  for (const [who, timer] of typing) {
    if (name !== undefined && who !== name) continue;
    clearTimeout(timer);
    typing.delete(who);
  }
  showTypingLine();
}

function showTypingLine() {
  const names = [...typing.keys()];
  $("typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function sendTyping() {
  if (rt?.state !== "open" || Date.now() - typingSentAt < TYPING_EVERY_MS) return;
  typingSentAt = Date.now();
  // Not stored, not echoed to this page; dropped rather than queued while offline.
  rt.publish(
    `room:${room}`,
    { name: me, typing: true },
    { event: "typing", store: false, echo: false },
  ).catch(() => {});
}

/** The rooms the server has (it refuses any other). */
function showRooms(rooms) {
  $("room").replaceChildren(
    ...rooms.map((name) => Object.assign(document.createElement("option"), { textContent: name })),
  );
  $("room").value = room;
}

function showChatError(error) {
  $("chat-error").textContent = error.message;
}

$("join").addEventListener("click", () => {
  if ($("room").value !== room) enterRoom($("room").value);
});

function sendMessage() {
  const text = $("message").value.trim();
  if (!text || !rt) return;
  $("message").value = "";
  $("chat-error").textContent = "";
  // Offline, it waits in the client's queue and goes after the reconnect; a message whose
  // ack was lost is resent and stored once.
  rt.publish(`room:${room}`, { name: me, text }, { event: "message" }).catch(showChatError);
}
$("send").addEventListener("click", sendMessage);
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    sendMessage();
  }
});
$("message").addEventListener("input", () => {
  if ($("message").value.trim()) sendTyping();
});

checkSession().catch(() => signedOut());
