import { WebSocket } from "ws";
import type { SluiceWebSocket } from "./sluice-websocket.js";

/**
 * The `ws` socket class sluice's servers create (their `WebSocket` option). It knows the
 * SluiceWebSocket that wraps it, so one listener function per event, shared by every
 * connection, reaches it through `this`: no closure (and context) per connection.
 */
export class LinkedWebSocket extends WebSocket {
  /** Set as the SluiceWebSocket wraps it, before it listens to anything. */
  owner: SluiceWebSocket | undefined = undefined;
}

/** The SluiceWebSocket a socket of sluice's servers is linked to (`this` in a ws listener). */
export function ownerOf(ws: WebSocket): SluiceWebSocket | undefined {
  return (ws as LinkedWebSocket).owner;
}
