import type { Socket } from "node:net";
import type { SluiceRequest } from "./request.js";

/** Requests still being answered, per connection: one 'close' listener per socket, not per request. */
const watched = new WeakMap<Socket, Set<SluiceRequest>>();

/**
 * Aborts the request's signal when its client leaves: when its response closes early, or when
 * its socket closes (a pipelined request's response is not attached to the socket yet and
 * would never hear it otherwise). Returns the function that stops watching.
 */
export function watchDisconnect(request: SluiceRequest): () => void {
  const { response } = request;
  const socket = request.raw.socket;
  const onResponseClose = () => {
    if (!response.writableFinished) request.abort("client-disconnected");
  };
  response.once("close", onResponseClose);
  let requests = watched.get(socket);
  if (!requests) {
    const onSocket = new Set<SluiceRequest>();
    watched.set(socket, onSocket);
    socket.once("close", () => {
      for (const pending of onSocket) {
        if (!pending.response.writableFinished) pending.abort("client-disconnected");
      }
      watched.delete(socket);
    });
    requests = onSocket;
  }
  requests.add(request);
  const stillWatched = requests;
  return () => {
    response.off("close", onResponseClose);
    stillWatched.delete(request);
  };
}
