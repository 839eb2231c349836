import { type ConnectOptions, RealtimeClient } from "./realtime.js";
import type { ContractOrUntyped, Realtime } from "./typed-realtime.js";

/**
 * Connects to a sluice real-time endpoint (`app.realtime(path)`), reconnecting with backoff
 * until `close()`; subscriptions resume after their last delivered message, publishes are
 * stored exactly once. `url` is an absolute ws:// or wss:// URL: browsers take http(s) URLs
 * for WebSockets since 2024, older ones (and ws) do not, so connect() refuses them everywhere.
 *
 * Given the endpoint's contract as a type argument (`connect<typeof contract>(url)`: a type
 * only, no schema code reaches the bundle), `subscribe`, `publish` and `call` are typed
 * from its schemas; the server validates with the same schemas.
 *
 * @example
 * import { connect } from "sluice/client";
 * const rt = connect("wss://example.com/rt", { token: () => localStorage.getItem("token") });
 * const sub = rt.subscribe("chat:lobby", { replay: 50 }, (m) => console.log(m.data));
 * await rt.publish("chat:lobby", { text: "hi" });
 * // Node 20: connect(url, { WebSocket }) with import { WebSocket } from "ws"
 * // Typed from the server's contract (a type-only import): connect<typeof contract>(url)
 */
export function connect<C extends ContractOrUntyped = undefined>(
  url: string,
  options: ConnectOptions = {},
): Realtime<C> {
  return new RealtimeClient(url, options) as unknown as Realtime<C>;
}
