import type { OutgoingHttpHeaders } from "node:http";

export interface ResponseInit {
  statusCode?: number;
  headers?: OutgoingHttpHeaders;
}

/**
 * A handler result with a chosen status and headers. The body follows the same rules as a
 * plain handler result: string -> text/plain, Buffer/Uint8Array -> octet-stream,
 * undefined -> empty, anything else -> JSON.
 */
export class HttpResponse {
  readonly body: unknown;
  readonly statusCode: number;
  readonly headers: OutgoingHttpHeaders;

  constructor(body?: unknown, init: ResponseInit = {}) {
    this.body = body;
    this.statusCode = init.statusCode ?? 200;
    this.headers = init.headers ?? {};
  }

  static json(value: unknown, init: ResponseInit = {}): HttpResponse {
    return new HttpResponse(JsonBody.of(value), init);
  }

  static text(value: string, init: ResponseInit = {}): HttpResponse {
    return new HttpResponse(value, init);
  }

  static empty(statusCode = 204, headers: OutgoingHttpHeaders = {}): HttpResponse {
    return new HttpResponse(undefined, { statusCode, headers });
  }

  static redirect(location: string, statusCode = 302): HttpResponse {
    return new HttpResponse(undefined, { statusCode, headers: { location } });
  }
}

/** Marks a value that must be sent as JSON even when it is a string. */
export class JsonBody {
  private constructor(readonly value: unknown) {}
  static of(value: unknown): JsonBody {
    return new JsonBody(value);
  }
}
