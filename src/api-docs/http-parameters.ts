import type { HttpRouteSchemas } from "./catalog.js";
import type { JsonSchema } from "./json-schema.js";
import { type RouteTemplate, WILDCARD_DESCRIPTION, WILDCARD_PARAM } from "./route-template.js";
import type { SchemaComponents } from "./schema-components.js";

export type Parameter = Record<string, unknown>;

/**
 * The OpenAPI parameters of a route: one per path parameter of its pattern (typed by the
 * `params` schema's property of that name, else a string), one per property of the `query`
 * and `headers` schemas (`required` from the JSON Schema's `required`). A query schema whose
 * JSON Schema lists no properties (a union, an undocumented schema) is one object parameter
 * in `form` style, which stands for the whole query string.
 */
export function routeParameters(
  route: RouteTemplate,
  schemas: HttpRouteSchemas,
  components: SchemaComponents,
  hint: string,
): Parameter[] {
  const params = schemas.params && components.read(schemas.params, "input", `${hint} params`);
  const parameters = pathParameters(route, params);
  if (schemas.query) {
    const query = components.read(schemas.query, "input", `${hint} query`);
    parameters.push(...propertyParameters(query, "query"));
  }
  if (schemas.headers) {
    const headers = components.read(schemas.headers, "input", `${hint} headers`);
    if (propertiesOf(headers)) parameters.push(...propertyParameters(headers, "header"));
  }
  return parameters;
}

function pathParameters(route: RouteTemplate, params: JsonSchema | undefined): Parameter[] {
  const properties = (params && propertiesOf(params)) ?? {};
  const parameters: Parameter[] = route.params.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: properties[name] ?? { type: "string" },
  }));
  if (route.wildcard) {
    parameters.push({
      name: WILDCARD_PARAM,
      in: "path",
      required: true,
      description: WILDCARD_DESCRIPTION,
      schema: properties["*"] ?? { type: "string" },
    });
  }
  return parameters;
}

function propertyParameters(schema: JsonSchema, where: "query" | "header"): Parameter[] {
  const properties = propertiesOf(schema);
  if (properties === undefined) {
    return [{ name: where, in: where, schema, style: "form", explode: true }];
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  return Object.entries(properties).map(([name, property]) => {
    const parameter: Parameter = { name, in: where, required: required.has(name) };
    if (typeof property.description === "string") parameter.description = property.description;
    parameter.schema = property;
    return parameter;
  });
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> | undefined {
  const { properties } = schema;
  return typeof properties === "object" && properties !== null && !Array.isArray(properties)
    ? (properties as Record<string, JsonSchema>)
    : undefined;
}
