import type { IncomingHttpHeaders } from "node:http";

/** A response read to its end. */
export class TestResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly #body: Buffer;

  constructor(statusCode: number, headers: IncomingHttpHeaders, body: Buffer) {
    this.statusCode = statusCode;
    this.headers = headers;
    this.#body = body;
  }

  bytes(): Buffer {
    return this.#body;
  }

  text(): string {
    return this.#body.toString("utf8");
  }

  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new Error(
        `Response body is not JSON (status ${this.statusCode}): ${(error as Error).message}; body starts with ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
  }
}
