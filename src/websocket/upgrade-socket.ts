import { type IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * A ServerResponse written straight onto an upgrade request's socket, which Node has handed
 * over: how a refused upgrade gets the same status, headers and JSON body as any other
 * request. The connection closes once the response is out.
 */
export function responseOnSocket(raw: IncomingMessage, socket: Socket): ServerResponse {
  const response = new ServerResponse(raw);
  response.shouldKeepAlive = false;
  response.assignSocket(socket);
  // One function for every upgrade, not a closure each: the request keeps its response for
  // as long as the WebSocket lives. 'finish' comes once at most.
  response.on("finish", closeAfterResponse);
  return response;
}

/** The refusal is out: the connection closes (unless the socket went on to become a WebSocket). */
function closeAfterResponse(this: ServerResponse): void {
  const socket = this.socket;
  if (!socket) return; // detached: handed over to ws
  this.detachSocket(socket);
  (socket as Socket).destroySoon();
}
