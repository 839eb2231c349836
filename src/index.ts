export type { AsyncApiDocument } from "./api-docs/asyncapi.js";
export type {
  ApiDocumentOptions,
  ApiInfo,
  ApiServer,
  JsonSchemaConverter,
  SchemaDirection,
} from "./api-docs/document-options.js";
export type { OpenApiDocument } from "./api-docs/openapi.js";
export {
  App,
  type AppOptions,
  type CloseHook,
  type CloseOptions,
  type Handler,
  type ListenHook,
  type OpenConnections,
  type RouteDefinition,
  type RouteGroup,
  type RouteResult,
  type RouteSchemas,
  type SseRouteHandler,
  type TypedWebSocket,
  type ValidatedHandler,
  type ValidatedRequest,
  type WebSocketRouteHandler,
} from "./app/app.js";
export type { AppMetrics, ProcessMetrics, TransportCounts } from "./app/app-metrics.js";
export type { AppServer, ListeningServer, ListenOptions, TlsOptions } from "./app/listen.js";
export type {
  SchemaWebSocket,
  SchemaWebSocketHandler,
  SendSchemaWebSocket,
  SendSchemaWebSocketHandler,
  SseSchemaRouteHandler,
} from "./app/route-types.js";
export { HttpError, type HttpErrorOptions, isHttpError } from "./http/http-error.js";
export { HttpResponse, type ResponseInit } from "./http/http-response.js";
export type { Middleware, Next } from "./http/middleware-chain.js";
export type { PathParams } from "./http/path-params.js";
export { MAX_LAST_EVENT_ID_BYTES, RequestAbortedError, SluiceRequest } from "./http/request.js";
export { ForbiddenJsonKeyError, type JsonParseOptions, type ProtoKeys } from "./http/safe-json.js";
export {
  type StreamChunk,
  StreamingResponse,
  type StreamingResponseInit,
  type StreamSource,
} from "./http/streaming-response.js";
export {
  OutputValidationError,
  ValidationError,
  type ValidationIssue,
} from "./http/validation-error.js";
export { type ApiKeyAuthOptions, apiKeyAuth } from "./middleware/api-key-auth.js";
export type { Verified } from "./middleware/auth-challenge.js";
export { type BearerAuthOptions, bearerAuth } from "./middleware/bearer-auth.js";
export {
  type CorsOptions,
  type CorsOriginDecision,
  type CorsOriginFunction,
  cors,
} from "./middleware/cors.js";
export {
  type Contract,
  type ContractCallParams,
  type ContractCallResult,
  type ContractDefinition,
  type ContractMethod,
  type ContractMethodParams,
  type ContractPublishData,
  type ContractTopic,
  type ContractTopicData,
  type ContractTopicOutput,
  type ContractTopics,
  type ContractTopicsOutput,
  defineContract,
  type MethodSchemas,
} from "./protocol/contract.js";
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorIssue,
  PROTOCOL as REALTIME_PROTOCOL,
} from "./protocol/frames.js";
export type { Jsonified } from "./protocol/jsonified.js";
export type { PublishRule, SubscribeRule } from "./realtime/access-rule.js";
export type { ContractMethods } from "./realtime/contract-methods.js";
export type { RealtimeContext } from "./realtime/realtime-context.js";
export type {
  ContractRealtimeOptions,
  RealtimeConnectHook,
  RealtimeMethod,
  RealtimeOptions,
} from "./realtime/realtime-options.js";
export type { PresenceRule } from "./realtime/realtime-presence.js";
export { SseEvent, type SseEventInit } from "./sse/sse-event.js";
export type {
  PlainSseOptions,
  SseEventObject,
  SseEventOf,
  SseEventSchemas,
  SseSchemaHandlerResult,
  SseSchemaOptions,
} from "./sse/sse-event-schemas.js";
export { type SseOptions, SseResponse, type SseResponseInit } from "./sse/sse-response.js";
export type { SseHandler, SseHandlerResult, SseSource } from "./sse/sse-route.js";
export { encodeNdjsonLine, ndjson } from "./stream/ndjson.js";
export type {
  Broker,
  BrokerPublishOptions,
  Deliver,
  HistoryQuery,
  Replay,
  StoredMessage,
} from "./topics/broker.js";
export type { BrokerPresence, PresenceMember } from "./topics/broker-presence.js";
export {
  type MemoryBroker,
  type MemoryBrokerOptions,
  memoryBroker,
} from "./topics/memory-broker.js";
export { isPresenceEvent, type TopicPresenceEvent } from "./topics/presence-event.js";
export type { PublishExcept } from "./topics/publish-delivery.js";
export { TopicMessage } from "./topics/topic-message.js";
export type { TopicOptions } from "./topics/topic-schemas.js";
export {
  isTopicReset,
  type TopicEvent,
  type TopicReset,
  type TopicResetEvent,
  TopicSubscription,
} from "./topics/topic-subscription.js";
export type {
  NoTopics,
  TopicData,
  TopicPublishData,
  TopicSchemaMap,
} from "./topics/topic-types.js";
export type { HistoryOptions, PublishOptions, SubscribeOptions } from "./topics/topics.js";
export type { LoggerOption } from "./util/logger.js";
export { SchemaError } from "./util/run-schema.js";
export type { InferInput, InferOutput, StandardSchemaV1 } from "./util/standard-schema.js";
export { CloseCode } from "./websocket/close-codes.js";
export type { DeflateOptions } from "./websocket/deflate-options.js";
export type { KeepOpen } from "./websocket/keep-open.js";
export { SluiceWebSocket } from "./websocket/sluice-websocket.js";
export { type CloseInfo, WebSocketClosedError } from "./websocket/socket-close.js";
export type { WebSocketHandler } from "./websocket/websocket-gateway.js";
export { WebSocketMessage } from "./websocket/websocket-message.js";
export type { MessageRate, WebSocketOptions } from "./websocket/websocket-options.js";
export type {
  OnInvalidMessage,
  PlainWebSocketOptions,
  WebSocketSchemaOptions,
  WebSocketSendSchemaOptions,
} from "./websocket/websocket-schema-options.js";
