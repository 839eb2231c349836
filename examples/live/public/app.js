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
    // A new connection is a new member of the room: say which (the subscriptions resume by
    // themselves).
    if (state === "open") {
      connection.call("join", { room }).catch(showChatError);
      connection.call("rooms").then(showRooms, showChatError);
    }
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

// ---- chat: a topic per room, and one for who is in it -------------------------------------

let room = "lobby";
let roomSubscriptions = [];

function enterRoom(name) {
  for (const subscription of roomSubscriptions) subscription.unsubscribe();
  room = name;
  $("messages").replaceChildren();
  $("presence").replaceChildren();
  $("chat-error").textContent = "";
  const messages = rt.subscribe(`room:${name}`, { replay: ROOM_HISTORY }, showMessage);
  messages.ready.catch(showChatError);
  messages.on("reset", () => {
    // The last message we had is gone from the room's log: load its recent history afresh.
    if (room === name) enterRoom(name);
  });
  const presence = rt.subscribe(`presence:${name}`, { replay: 1 }, (message) =>
    showPresence(message.data),
  );
  roomSubscriptions = [messages, presence];
  if (rt.state === "open") rt.call("join", { room: name }).catch(showChatError);
}

function showMessage(message) {
  const item = document.createElement("li");
  item.dataset.id = message.id;
  const name = Object.assign(document.createElement("b"), { textContent: message.data.name });
  item.append(name, `: ${message.data.text}`);
  append($("messages"), item);
}

function showPresence(names) {
  $("presence").replaceChildren(
    ...names.map((name) => Object.assign(document.createElement("li"), { textContent: name })),
  );
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

checkSession().catch(() => signedOut());
