import type { SluiceRequest } from "../http/request.js";
import type { SluiceWebSocket } from "../websocket/sluice-websocket.js";

/**
 * What a real-time endpoint's rules and methods are told about the client asking: its
 * request (`request.state` holds what middleware set, the auth principal say), its id, and
 * its socket (undefined for an SSE client).
 */
export interface RealtimeContext<State extends object = Record<string, unknown>> {
  readonly request: SluiceRequest<Record<string, string>, State>;
  /** The WebSocket's id (its upgrade request's id); a fresh id for each SSE request. */
  readonly clientId: string;
  readonly socket: SluiceWebSocket | undefined;
}
