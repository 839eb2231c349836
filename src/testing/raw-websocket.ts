/** What `ws` sends and receives: text as a string, bytes in any of their forms. */
export type RawWebSocketData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** Received message data, as `ws` hands it over (a Buffer unless its binaryType is changed). */
export type RawWebSocketMessage = Buffer | ArrayBuffer | Buffer[];

export interface RawWebSocketSendOptions {
  /** Send as a binary frame; `false` sends bytes as a text frame, valid UTF-8 or not. */
  binary?: boolean;
  /** Compress this message (when permessage-deflate was agreed on). */
  compress?: boolean;
  /** Set on the last fragment of a message; `false` starts or continues a fragmented one. */
  fin?: boolean;
}

/** The events of a raw socket a test may watch, and their listeners. */
export interface RawWebSocketEvents {
  message: (data: RawWebSocketMessage, isBinary: boolean) => void;
  ping: (data: Buffer) => void;
  pong: (data: Buffer) => void;
  close: (code: number, reason: Buffer) => void;
  error: (error: Error) => void;
}

/**
 * The `ws` client under a TestWebSocket (`ws.raw`), for what TestWebSocket does not wrap:
 * sending without waiting, frames `send()` would not make, a client that stops reading or
 * vanishes, watching pings. It is `ws`'s WebSocket; this type names the members tests reach
 * for, so that a project needs no `@types/ws` to use sluice/testing (for the rest, cast it
 * to the `WebSocket` type of `ws`).
 */
export interface RawWebSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed: as in the browser's WebSocket. */
  readonly readyState: 0 | 1 | 2 | 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** Bytes sent but not yet handed to the TCP socket. */
  readonly bufferedAmount: number;
  /** The subprotocol the server chose, or "". */
  readonly protocol: string;
  /** The extensions agreed on, as the server's header put them. */
  readonly extensions: string;
  /** True while reading is paused. */
  readonly isPaused: boolean;
  /** Sends at once; `callback` runs when the data is written (or with the error). */
  send(data: RawWebSocketData, callback?: (error?: Error) => void): void;
  send(
    data: RawWebSocketData,
    options: RawWebSocketSendOptions,
    callback?: (error?: Error) => void,
  ): void;
  ping(data?: RawWebSocketData, mask?: boolean, callback?: (error: Error) => void): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string | Buffer): void;
  /** Drops the connection at once, without a close frame: a client that vanished. */
  terminate(): void;
  /** Stops reading from the socket: a client that no longer reads. */
  pause(): void;
  resume(): void;
  on<Event extends keyof RawWebSocketEvents>(
    event: Event,
    listener: RawWebSocketEvents[Event],
  ): this;
  once<Event extends keyof RawWebSocketEvents>(
    event: Event,
    listener: RawWebSocketEvents[Event],
  ): this;
  off<Event extends keyof RawWebSocketEvents>(
    event: Event,
    listener: RawWebSocketEvents[Event],
  ): this;
}
