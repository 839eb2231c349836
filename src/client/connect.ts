import { type ConnectOptions, Realtime } from "./realtime.js";

/**
 * Connects to a sluice real-time endpoint (`app.realtime(path)`), reconnecting with backoff
 * until `close()`; subscriptions resume after their last delivered message, publishes are
 * stored exactly once. `url` is an absolute ws:// or wss:// URL: browsers take http(s) URLs
 * for WebSockets since 2024, older ones (and ws) do not, so connect() refuses them everywhere.
 *
 * @example
 * import { connect } from "sluice/client";
 * const rt = connect("wss://example.com/rt", { token: () => localStorage.getItem("token") });
 * const sub = rt.subscribe("chat:lobby", { replay: 50 }, (m) => console.log(m.data));
 * await rt.publish("chat:lobby", { text: "hi" });
 * // Node 20: connect(url, { WebSocket }) with import { WebSocket } from "ws"
 */
export function connect(url: string, options: ConnectOptions = {}): Realtime {
  return new Realtime(url, options);
}
