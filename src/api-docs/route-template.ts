/** A route pattern written as a URI template, as both documents show paths and addresses. */
export interface RouteTemplate {
  /** `/users/{id}`; a trailing `*` is `{wildcard}`. */
  readonly template: string;
  /** The `:name`s, in order. */
  readonly params: readonly string[];
  /** The route ends with `*`: the rest of the path, `/` included, or nothing. */
  readonly wildcard: boolean;
}

/** The template expression a trailing `*` becomes (its value is `req.params["*"]`). */
export const WILDCARD_PARAM = "wildcard";

export function routeTemplate(pattern: string): RouteTemplate {
  const params: string[] = [];
  let wildcard = false;
  const segments = pattern.split("/").map((segment) => {
    if (segment === "*") {
      wildcard = true;
      return `{${WILDCARD_PARAM}}`;
    }
    if (!segment.startsWith(":")) return segment;
    params.push(segment.slice(1));
    return `{${segment.slice(1)}}`;
  });
  return { template: segments.join("/"), params, wildcard };
}

export const WILDCARD_DESCRIPTION =
  'The rest of the path after the route\'s prefix, "/" included (the route also matches the prefix alone); the handler reads it as params["*"].';
