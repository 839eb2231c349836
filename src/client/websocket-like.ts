// The least a WebSocket class must offer for connect(): the browser's and ws's both fit.
// Declared here, structurally, so that the client's declarations need neither the DOM's
// types nor Node's.

// A handler type whose parameter is compared bivariantly, so that classes typing the event
// more precisely (ws's MessageEvent, the DOM's) still fit.
type Handler<E> = { bivariance(event: E): void }["bivariance"];

export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers and Node 22+, or ws's `WebSocket`. */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState of an open socket (the same in every implementation). */
export const OPEN = 1;
