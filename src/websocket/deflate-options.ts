import type { ZlibOptions } from "node:zlib";

/**
 * permessage-deflate (RFC 7692) settings for a WebSocket route's `compression` option, passed
 * to `ws` as given. Declared here rather than taken from `ws`'s own types, so that a project
 * using sluice needs no `@types/ws`.
 */
export interface DeflateOptions {
  /** Reset the server's compressor after each message: less memory per socket, less compression. */
  serverNoContextTakeover?: boolean;
  /** Ask the client to reset its compressor after each message. */
  clientNoContextTakeover?: boolean;
  /** The window the server compresses with, in bits (8 to 15). */
  serverMaxWindowBits?: number;
  /** The window asked of the client, in bits (8 to 15). */
  clientMaxWindowBits?: number;
  /** zlib settings of the compressor. */
  zlibDeflateOptions?: Pick<
    ZlibOptions,
    "flush" | "finishFlush" | "chunkSize" | "windowBits" | "level" | "memLevel" | "strategy"
  >;
  /** zlib settings of the decompressor. */
  zlibInflateOptions?: ZlibOptions;
  /** Messages smaller than this, in bytes, are sent uncompressed. */
  threshold?: number;
  /** How many zlib operations run at once, for all of the process's sockets. */
  concurrencyLimit?: number;
}
