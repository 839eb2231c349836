export { type SseMessage, SseParser } from "../sse/sse-parser.js";
export type { RequestOptions } from "./http-exchange.js";
export type {
  RawWebSocket,
  RawWebSocketData,
  RawWebSocketEvents,
  RawWebSocketMessage,
  RawWebSocketSendOptions,
} from "./raw-websocket.js";
export type { ReceivedResponse } from "./received-response.js";
export { TestClient, type TestClientOptions } from "./test-client.js";
export { TestEventStream } from "./test-event-stream.js";
export { TestResponse } from "./test-response.js";
export { TestStream } from "./test-stream.js";
export {
  TestWebSocket,
  type WebSocketCloseInfo,
  type WebSocketConnectOptions,
  WebSocketUpgradeError,
} from "./test-websocket.js";
