import type { Logger } from "pino";
import type { SluiceRequest } from "../http/request.js";
import type { Contract } from "../protocol/contract.js";
import type { SseOptions } from "../sse/sse-options.js";
import type { SseHandler } from "../sse/sse-route.js";
import type { Topics } from "../topics/topics.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
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
  /** What the endpoint declares, for the App's catalog. */
  readonly described: {
    readonly contract: Contract | undefined;
    /** The `subscribe` and `publish` options when they are lists of patterns. */
    readonly subscribe: readonly string[] | undefined;
    readonly publish: readonly string[] | undefined;
    readonly methods: readonly string[];
    /** The contract's topics the App had not declared before (as `app.topic()` would). */
    readonly newTopics: readonly (readonly [pattern: string, schema: StandardSchemaV1])[];
  };
}

/**
 * @internal The routes of a real-time endpoint on `path`, its options checked (a TypeError
 * names the one at fault): the WebSocket route speaking sluice.v1 and the SSE one. A
 * contract's topics are declared on `topics`, once every option is checked.
 */
export function realtimeRoutes(
  path: string,
  options: unknown,
  topics: Topics,
  logger: Logger,
  validateOutput = false,
): RealtimeRoutes {
  const resolved = resolveRealtimeOptions(path, options, validateOutput);
  const contractTopics = Object.entries(resolved.contract?.topics ?? {});
  const newTopics = topics.schemas.declareAll(
    `app.realtime(${JSON.stringify(path)}) contract`,
    contractTopics,
  );
  const endpoint = new RealtimeEndpoint(path, resolved, topics, logger);
  const given = options as { subscribe?: unknown; publish?: unknown };
  return {
    webSocket: {
      options: resolved.webSocket,
      handler: (socket, request) => new RealtimeSession(endpoint, socket, request).run(),
    },
    sse: { options: resolved.sse, handler: realtimeSseHandler(endpoint) },
    described: {
      contract: resolved.contract,
      subscribe: patternList(given.subscribe),
      publish: patternList(given.publish),
      methods: [...resolved.methods.keys()],
      newTopics,
    },
  };
}

function patternList(option: unknown): readonly string[] | undefined {
  return Array.isArray(option) ? [...(option as string[])] : undefined;
}
