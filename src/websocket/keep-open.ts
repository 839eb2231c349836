/**
 * What a WebSocket handler returns (`return socket.keepOpen()`) to leave its socket open once
 * it has returned: a socket that only follows topics (or reacts through `socket.closed`) then
 * holds no suspended handler for its whole life. One shared value, compared by identity.
 */
export interface KeepOpen {
  readonly keepOpen: true;
}

/** @internal The one KeepOpen value. */
export const KEEP_OPEN: KeepOpen = Object.freeze({ keepOpen: true as const });
