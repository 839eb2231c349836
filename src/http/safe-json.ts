/**
 * What to do with a `__proto__` key, or a `constructor` key holding a `prototype`, in JSON
 * from a client: `"error"` refuses the document, `"remove"` deletes those keys, `"keep"`
 * leaves them (JSON.parse's own behaviour). JSON.parse makes them plain own properties, but
 * code that merges the value into another object (`Object.assign`, a recursive merge, a
 * spread into a class) can then change that object's prototype: `{"__proto__":
 * {"isAdmin": true}}` gives it an inherited `isAdmin`.
 */
export type ProtoKeys = "error" | "remove" | "keep";

/** Options of `req.json()` and `socket.receiveJson()`. */
export interface JsonParseOptions {
  /** What to do with `__proto__` and `constructor.prototype` keys. Default: "error". */
  protoKeys?: ProtoKeys;
}

/** The JSON held a key that `protoKeys: "error"` refuses. */
export class ForbiddenJsonKeyError extends SyntaxError {
  constructor(readonly key: "__proto__" | "constructor.prototype") {
    super(`JSON with a "${key}" key is not accepted`);
    this.name = "ForbiddenJsonKeyError";
  }
}

const PROTO_KEYS: readonly ProtoKeys[] = ["error", "remove", "keep"];

/** The `protoKeys` option checked (TypeError when it is not one of the three). */
export function protoKeysOption(options: JsonParseOptions | undefined): ProtoKeys {
  if (options === undefined) return "error";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`JSON options must be an object such as { protoKeys: "error" }`);
  }
  const { protoKeys = "error" } = options;
  if (!PROTO_KEYS.includes(protoKeys)) {
    throw new TypeError(
      `protoKeys must be "error", "remove" or "keep", got ${JSON.stringify(protoKeys) ?? typeof protoKeys}`,
    );
  }
  return protoKeys;
}

/**
 * JSON.parse, then `protoKeys` applied. Throws a SyntaxError for malformed JSON and a
 * ForbiddenJsonKeyError (a SyntaxError too) for a refused key. The walk over the parsed
 * value only happens when the text could spell such a key: most documents cost one
 * JSON.parse and three substring searches.
 */
export function parseJson(text: string, protoKeys: ProtoKeys = "error"): unknown {
  const value: unknown = JSON.parse(text);
  if (protoKeys === "keep" || !mightHoldProtoKeys(text)) return value;
  if (value !== null && typeof value === "object") scrub(value, protoKeys);
  return value;
}

/**
 * False only when no key of the text can be `__proto__` or `constructor`: a key can only
 * spell them literally or with `\u` escapes (JSON's other escapes stand for characters
 * these names do not contain).
 */
function mightHoldProtoKeys(text: string): boolean {
  return (
    text.includes("__proto__") ||
    (text.includes("constructor") && text.includes("prototype")) ||
    text.includes("\\u")
  );
}

/** Walks every object and array with a stack of its own: deep nesting cannot overflow the call stack. */
function scrub(root: object, protoKeys: "error" | "remove"): void {
  const pending: object[] = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!Array.isArray(node)) dropProtoKeys(node as Record<string, unknown>, protoKeys);
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === "object") pending.push(child);
    }
  }
}

function dropProtoKeys(node: Record<string, unknown>, protoKeys: "error" | "remove"): void {
  if (Object.hasOwn(node, "__proto__")) {
    if (protoKeys === "error") throw new ForbiddenJsonKeyError("__proto__");
    // An own data property (JSON.parse defines it): deleting it leaves the prototype alone.
    Reflect.deleteProperty(node, "__proto__");
  }
  if (!Object.hasOwn(node, "constructor")) return;
  const held = node.constructor;
  if (held !== null && typeof held === "object" && Object.hasOwn(held, "prototype")) {
    if (protoKeys === "error") throw new ForbiddenJsonKeyError("constructor.prototype");
    Reflect.deleteProperty(node, "constructor");
  }
}
