/**
 * `JSON.stringify` that refuses what has no JSON form (undefined, a function, a symbol)
 * instead of returning undefined, which would go out as a frame or message of no content.
 */
export function stringifyJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(`A ${value === null ? "null" : typeof value} cannot be sent as JSON`);
  }
  return json;
}
