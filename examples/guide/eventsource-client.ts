// The client side of the rooms' SSE stream. In a browser, EventSource is built in; in Node,
// the `eventsource` package (`npm install eventsource`) has the same API. EventSource
// reconnects by itself after the server's `retry:` delay, sending the id of the last event
// it received as Last-Event-ID, so the server resumes where it left off.
import { EventSource } from "eventsource";

export interface RoomHandlers {
  onMessage: (message: { id: string; user: string; text: string }) => void;
  /** What was missed is gone (trimmed, or from before a restart): reload the room. */
  onReset: () => void;
}

export function watchRoom(baseUrl: string, room: string, handlers: RoomHandlers): EventSource {
  const source = new EventSource(`${baseUrl}/rooms/${encodeURIComponent(room)}/events`);
  source.addEventListener("message", (event) => {
    handlers.onMessage({ id: event.lastEventId, ...JSON.parse(event.data) });
  });
  source.addEventListener("reset", () => handlers.onReset());
  return source; // call source.close() to stop: until then it reconnects, forever
}
