import type { Contract } from "../protocol/contract.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";

/*
 * What the App has declared, as data: every route, topic and real-time endpoint with the
 * schemas it was given. `app.openapi()` and `app.asyncapi()` are written from it; nothing
 * here is consulted while serving.
 */

/** The schemas an HTTP route may declare (each optional). */
export interface HttpRouteSchemas {
  readonly body?: StandardSchemaV1;
  readonly query?: StandardSchemaV1;
  readonly params?: StandardSchemaV1;
  readonly headers?: StandardSchemaV1;
  readonly response?: StandardSchemaV1;
}

export interface HttpRouteEntry {
  readonly kind: "http";
  /** Upper case; "*" for `app.all()`. */
  readonly method: string;
  /** The full route pattern, `/users/:id`. */
  readonly path: string;
  readonly name?: string;
  readonly schemas: HttpRouteSchemas;
}

export interface SseRouteEntry {
  readonly kind: "sse";
  readonly path: string;
  /** Event name to the schema of its data (`message` for data-only events). */
  readonly events?: Readonly<Record<string, StandardSchemaV1>>;
}

export interface WebSocketRouteEntry {
  readonly kind: "websocket";
  readonly path: string;
  /** What clients send. */
  readonly message?: StandardSchemaV1;
  /** What the server sends. */
  readonly send?: StandardSchemaV1;
  readonly protocols: readonly string[];
}

export interface TopicEntry {
  readonly kind: "topic";
  /** A name (`dashboard`) or a pattern (`chat:*`). */
  readonly pattern: string;
  readonly schema: StandardSchemaV1;
}

export interface RealtimeEntry {
  readonly kind: "realtime";
  readonly path: string;
  readonly contract?: Contract;
  /** Topic patterns clients may subscribe to / publish to, when given as lists. */
  readonly subscribe?: readonly string[];
  readonly publish?: readonly string[];
  /** Methods clients may call (with or without schemas in the contract). */
  readonly methods: readonly string[];
}

export type CatalogEntry =
  | HttpRouteEntry
  | SseRouteEntry
  | WebSocketRouteEntry
  | TopicEntry
  | RealtimeEntry;

/** The App's declarations in the order they were made. */
export class ApiCatalog {
  readonly #entries: CatalogEntry[] = [];

  add(entry: CatalogEntry): void {
    this.#entries.push(entry);
  }

  get entries(): readonly CatalogEntry[] {
    return this.#entries;
  }
}
