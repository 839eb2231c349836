// The live demo page: plain JavaScript, no build step. Sign-in sets an HttpOnly cookie that
// the browser then sends with fetch, the EventSource and the WebSocket (same origin).

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

async function checkSession() {
  const response = await fetch("/api/me");
  if (response.ok) signedIn((await response.json()).name);
  else signedOut();
  return response.ok;
}

function signedIn(name) {
  $("whoami").textContent = name;
  $("signin-form").hidden = true;
  $("signout").hidden = false;
  $("app").hidden = false;
  if (started) return;
  started = true;
  connectDashboard();
  connectChat();
}

function signedOut() {
  started = false;
  dashboard?.close();
  dashboard = undefined;
  chat.wanted = false;
  chat.socket?.close();
  setStatus("dashboard-status", "reconnecting");
  setStatus("chat-status", "disconnected");
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

// ---- dashboard: SSE from the "dashboard" topic -------------------------------------------

let dashboard;
let lastTickId = "";
let lastSeq = 0;

function connectDashboard() {
  // EventSource reconnects by itself and sends Last-Event-ID; the server replays the ticks
  // missed meanwhile from the topic's log. A new EventSource (after a refusal) cannot set
  // that header, so it passes the id in the query instead.
  const query = lastTickId ? `?lastEventId=${encodeURIComponent(lastTickId)}` : "";
  const source = new EventSource(`/api/dashboard${query}`);
  dashboard = source;
  source.onopen = () => setStatus("dashboard-status", "connected");
  source.onerror = () => {
    setStatus("dashboard-status", "reconnecting");
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    // Refused for good (401 after the cookie expired, 503 from a proxy...): ask why.
    setTimeout(async () => {
      if (dashboard !== source) return;
      if (await checkSession().catch(() => true)) connectDashboard();
    }, 2000);
  };
  source.addEventListener("tick", (event) => {
    lastTickId = event.lastEventId;
    showTick(JSON.parse(event.data));
  });
  source.addEventListener("reset", (event) => {
    // Our last tick is gone from the log (the server restarted, say): start over.
    lastTickId = event.lastEventId;
    lastSeq = 0;
    $("ticks").replaceChildren();
  });
}

function showTick(tick) {
  if (tick.seq <= lastSeq) return; // already shown
  lastSeq = tick.seq;
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

// ---- chat: a WebSocket, a topic per room -------------------------------------------------

const chat = {
  socket: undefined,
  wanted: false,
  room: "lobby",
  lastId: "",
  seen: new Set(),
  delay: 500,
};

function connectChat() {
  chat.wanted = true;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/chat`);
  chat.socket = socket;
  let opened = false;
  socket.onopen = () => {
    opened = true;
    chat.delay = 500;
    setStatus("chat-status", "connected");
    // Back in the same room: only what was missed is replayed (after lastId).
    send({ type: "join", room: chat.room, lastId: chat.lastId || undefined });
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = async () => {
    if (chat.socket !== socket || !chat.wanted) return;
    setStatus("chat-status", "reconnecting");
    // Refused before opening: perhaps the session is gone (a 401 on the upgrade).
    if (!opened && !(await checkSession().catch(() => true))) return;
    const delay = chat.delay * (0.75 + Math.random() / 2); // backoff with jitter
    chat.delay = Math.min(chat.delay * 2, 10_000);
    setTimeout(() => chat.wanted && chat.socket === socket && connectChat(), delay);
  };
}

function send(message) {
  if (chat.socket?.readyState !== WebSocket.OPEN) return false;
  chat.socket.send(JSON.stringify(message));
  return true;
}

function receive(message) {
  if (message.type === "hello") {
    showRooms(message.rooms);
  } else if (message.type === "presence") {
    if (message.room !== chat.room) return;
    $("presence").replaceChildren(
      ...message.names.map((name) =>
        Object.assign(document.createElement("li"), { textContent: name }),
      ),
    );
  } else if (message.type === "joined") {
    $("chat-error").textContent = "";
  } else if (message.type === "error") {
    $("chat-error").textContent = message.message;
  } else if (message.event === "reset") {
    // Our last message id is gone from the room's log: reload its recent history.
    clearRoom();
    send({ type: "join", room: chat.room });
  } else if (message.event === "message" && message.topic === `room:${chat.room}`) {
    if (chat.seen.has(message.id)) return;
    chat.seen.add(message.id);
    chat.lastId = message.id;
    const item = document.createElement("li");
    item.dataset.id = message.id;
    const name = Object.assign(document.createElement("b"), { textContent: message.data.name });
    item.append(name, `: ${message.data.text}`);
    append($("messages"), item);
  }
}

/** The rooms the server has (it refuses any other). */
function showRooms(rooms) {
  $("room").replaceChildren(
    ...rooms.map((room) => Object.assign(document.createElement("option"), { textContent: room })),
  );
  $("room").value = chat.room;
}

function clearRoom() {
  chat.lastId = "";
  chat.seen.clear();
  $("messages").replaceChildren();
  $("presence").replaceChildren();
}

$("join").addEventListener("click", () => {
  const room = $("room").value;
  if (room !== chat.room) {
    chat.room = room;
    clearRoom();
  }
  if (!send({ type: "join", room })) $("chat-error").textContent = "Not connected yet";
});

function sendMessage() {
  const text = $("message").value.trim();
  if (!text) return;
  if (send({ type: "message", text })) $("message").value = "";
  else $("chat-error").textContent = "Not connected: the message was not sent";
}
$("send").addEventListener("click", sendMessage);
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    sendMessage();
  }
});

checkSession().catch(() => signedOut());
