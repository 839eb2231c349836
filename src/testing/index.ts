export type { RequestOptions } from "./http-exchange.js";
export { TestClient, type TestClientOptions } from "./test-client.js";
export { TestResponse } from "./test-response.js";
export { TestStream } from "./test-stream.js";
