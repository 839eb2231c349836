import { checkSchema } from "../util/standard-schema.js";
import type { RouteSchemas } from "./route-types.js";

const SCHEMA_KEYS: readonly (keyof RouteSchemas)[] = [
  "body",
  "query",
  "params",
  "headers",
  "response",
];

/**
 * A route's `schemas` argument checked when the route is added, not at its first request:
 * a TypeError names the route and what is wrong (not an object, an unknown key, a value
 * that is not a Standard Schema).
 */
export function checkRouteSchemas(route: string, schemas: unknown): RouteSchemas {
  if (typeof schemas !== "object" || schemas === null || Array.isArray(schemas)) {
    throw new TypeError(
      `${route}: the second argument must be the route's schemas ({ body, query, params, headers, response }) or its handler, got ${schemas === null ? "null" : typeof schemas}`,
    );
  }
  const checked: Record<string, unknown> = {};
  for (const key of Object.keys(schemas)) {
    if (!SCHEMA_KEYS.includes(key as keyof RouteSchemas)) {
      throw new TypeError(
        `${route}: unknown schema "${key}"; a route may declare ${SCHEMA_KEYS.join(", ")}`,
      );
    }
    const schema = checkSchema(`${route}: ${key}`, (schemas as Record<string, unknown>)[key]);
    if (schema !== undefined) checked[key] = schema;
  }
  return Object.freeze(checked) as RouteSchemas;
}
