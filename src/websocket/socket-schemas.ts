import { checkSchema } from "../util/standard-schema.js";
import { MessageDecoder } from "./message-decoder.js";
import { SendEncoder } from "./send-encoder.js";
import type { SocketSchemas } from "./socket-limits.js";
import type { WebSocketRouteOptions } from "./websocket-schema-options.js";

/**
 * A route's `message`, `send` and `onInvalid`, checked when the route is added (a TypeError
 * names the one at fault) and made into the decoder and encoder its sockets share. A route
 * without them gets neither: its sockets read and send exactly as untyped ones do.
 */
export function socketSchemas(
  path: string,
  options: WebSocketRouteOptions,
  validateOutput: boolean,
): SocketSchemas {
  const where = `WebSocket route ${path}:`;
  const message = checkSchema(`${where} message`, options.message);
  const send = checkSchema(`${where} send`, options.send);
  const { onInvalid } = options;
  if (onInvalid !== undefined) {
    if (onInvalid !== "close" && onInvalid !== "skip" && typeof onInvalid !== "function") {
      throw new TypeError(
        `${where} onInvalid must be "close", "skip" or a function (error, socket, raw), got ${JSON.stringify(onInvalid) ?? typeof onInvalid}`,
      );
    }
    if (message === undefined) {
      throw new TypeError(`${where} onInvalid needs a message schema to apply to`);
    }
  }
  return {
    decoder: message && new MessageDecoder(message, onInvalid),
    encoder: send && new SendEncoder(send, validateOutput),
  };
}
