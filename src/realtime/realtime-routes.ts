import type { Logger } from "pino";
import type { SluiceRequest } from "../http/request.js";
import type { SseOptions } from "../sse/sse-options.js";
import type { SseHandler } from "../sse/sse-route.js";
import type { Topics } from "../topics/topics.js";
import type { SluiceWebSocket } from "../websocket/sluice-websocket.js";
import type { WebSocketOptions } from "../websocket/websocket-options.js";
import { RealtimeEndpoint } from "./realtime-endpoint.js";
import { resolveRealtimeOptions } from "./realtime-options.js";
import { RealtimeSession } from "./realtime-session.js";
import { realtimeSseHandler } from "./realtime-sse.js";

/** @internal The two routes `app.realtime()` adds on one path. */
export interface RealtimeRoutes {
  readonly webSocket: {
    readonly options: WebSocketOptions;
    readonly handler: (socket: SluiceWebSocket, request: SluiceRequest) => Promise<void>;
  };
  readonly sse: {
    readonly options: SseOptions;
    readonly handler: SseHandler;
  };
}

/**
 * @internal The routes of a real-time endpoint on `path`, its options checked (a TypeError
 * names the one at fault): the WebSocket route speaking sluice.v1 and the SSE one.
 */
export function realtimeRoutes(
  path: string,
  options: unknown,
  topics: Topics,
  logger: Logger,
): RealtimeRoutes {
  const resolved = resolveRealtimeOptions(path, options);
  const endpoint = new RealtimeEndpoint(path, resolved, topics, logger);
  return {
    webSocket: {
      options: resolved.webSocket,
      handler: (socket, request) => new RealtimeSession(endpoint, socket, request).run(),
    },
    sse: { options: resolved.sse, handler: realtimeSseHandler(endpoint) },
  };
}
