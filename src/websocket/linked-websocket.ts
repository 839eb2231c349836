import { WebSocket } from "ws";

/**
 * The `ws` socket class sluice's servers create (their `WebSocket` option). It knows the
 * object that wraps it (a SluiceWebSocket), so one listener function per event, shared by
 * every connection, reaches it through `this`: no closure (and context) per connection.
 * Generic over its owner so that this file needs nothing of the wrapper's.
 *
 * @internal Only sluice's WebSocket code uses it; its declaration, a subclass of `ws`'s
 * `WebSocket`, would ask a user's project for `@types/ws`.
 */
export class LinkedWebSocket<Owner = unknown> extends WebSocket {
  /** Set as the owner wraps it, before it listens to anything. */
  owner: Owner | undefined = undefined;
}

/** @internal The owner a socket of sluice's servers is linked to (`this` in a ws listener). */
export function ownerOf<Owner>(ws: WebSocket): Owner | undefined {
  return (ws as LinkedWebSocket<Owner>).owner;
}
