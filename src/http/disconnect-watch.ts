import { closedIncomplete, type NodeRequest, type NodeResponse } from "./node-http.js";
import type { SluiceRequest } from "./request.js";

/**
 * The request each watched response answers. The 'close' listeners are one shared function
 * (`this` is the response), not closures: this map costs an entry per open stream, a
 * closure and a `once` wrapper would cost several objects.
 */
const byResponse = new WeakMap<NodeResponse, SluiceRequest>();
/** Pipelined requests whose response waits for its turn, per connection. */
const bySocket = new WeakMap<ConnectionSocket, Set<SluiceRequest>>();

type ConnectionSocket = NodeRequest["socket"];

/**
 * Aborts the request's signal when its client leaves before the response is complete. A
 * response on its socket hears the socket close as its own 'close'; a pipelined request's
 * response is not attached to the socket yet and would never hear it, so that request
 * listens on the socket. Until `unwatchDisconnect()`, given the same response (an upgraded
 * request lets go of its own).
 */
export function watchDisconnect(request: SluiceRequest, response: NodeResponse): void {
  if (response.socket) {
    byResponse.set(response, request);
    response.on("close", onResponseClose);
  } else watchSocket(request);
}

export function unwatchDisconnect(request: SluiceRequest, response: NodeResponse): void {
  if (byResponse.get(response) === request) {
    byResponse.delete(response);
    response.off("close", onResponseClose);
  } else bySocket.get(request.raw.socket)?.delete(request);
}

function onResponseClose(this: NodeResponse): void {
  const request = byResponse.get(this);
  if (request && closedIncomplete(this)) request.abort("client-disconnected");
}

/** One 'close' listener per connection, kept until it closes (it may serve more requests). */
function watchSocket(request: SluiceRequest): void {
  const socket = request.raw.socket;
  let requests = bySocket.get(socket);
  if (!requests) {
    requests = new Set();
    bySocket.set(socket, requests);
    socket.on("close", onSocketClose);
  }
  requests.add(request);
}

function onSocketClose(this: ConnectionSocket): void {
  const requests = bySocket.get(this);
  bySocket.delete(this);
  for (const request of requests ?? []) {
    if (!request.responseFinished) request.abort("client-disconnected");
  }
}
