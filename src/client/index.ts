export {
  type Contract,
  type ContractCallParams,
  type ContractCallResult,
  type ContractDefinition,
  type ContractMethod,
  type ContractPublishData,
  type ContractTopic,
  type ContractTopicData,
  type ContractTopicOutput,
  type ContractTopics,
  type ContractTopicsOutput,
  defineContract,
  type MethodSchemas,
} from "../protocol/contract.js";
export type { ErrorCode, ErrorIssue } from "../protocol/frames.js";
export type { Jsonified } from "../protocol/jsonified.js";
export type { ReconnectOptions } from "./backoff.js";
export { connect } from "./connect.js";
export {
  EventStreamError,
  type FetchEventsOptions,
  fetchEvents,
  type HeadersLike,
} from "./fetch-events.js";
export type {
  CallOptions,
  CloseInfo,
  ConnectionState,
  ConnectOptions,
  PublishOptions,
  RealtimeClient,
  RealtimeEvents,
} from "./realtime.js";
export { RealtimeError } from "./realtime-error.js";
export type { SseMessage } from "./sse-parser.js";
export type {
  PresenceMember,
  RealtimeMessage,
  ResetInfo,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
} from "./subscription.js";
export type {
  ContractCallArgs,
  ContractOrUntyped,
  ContractRealtime,
  Realtime,
} from "./typed-realtime.js";
export type { WebSocketClass, WebSocketLike } from "./websocket-like.js";
