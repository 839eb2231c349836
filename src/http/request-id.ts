import { randomBytes } from "node:crypto";
import type { NodeRequest } from "./node-http.js";

/** Ids a client may hand us: short, and nothing that could forge a log line or a header. */
const SAFE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

export type RequestIdSource = (request: NodeRequest) => string;

/**
 * Reuses a well-formed incoming id (so a trace spans proxy and app) or makes a new one: a
 * per-process random prefix and a counter, unique without the cost of a UUID per request.
 */
export function requestIdSource(
  header: string | false,
  generate?: () => string,
  onBadId?: (error: unknown) => void,
): RequestIdSource {
  const prefix = randomBytes(4).toString("hex");
  let counter = 0;
  // join() builds one flat string; a template of 13+ characters would be a rope (V8 cons
  // string), which node flattens again when it validates and writes the x-request-id header.
  const builtIn = () => [prefix, (++counter).toString(36)].join("-");
  const make = generate ? () => checked(generate, builtIn, onBadId) : builtIn;
  if (header === false) return () => make();
  const name = header.toLowerCase();
  return (request) => {
    const incoming = request.headers[name];
    return typeof incoming === "string" && SAFE_REQUEST_ID.test(incoming) ? incoming : make();
  };
}

/** A user generator that throws or returns an unsafe id must not break requests: fall back. */
function checked(
  generate: () => string,
  fallback: () => string,
  onBadId?: (error: unknown) => void,
): string {
  try {
    const id = generate();
    if (typeof id === "string" && SAFE_REQUEST_ID.test(id)) return id;
    onBadId?.(new TypeError(`generateRequestId returned an unsafe id: ${JSON.stringify(id)}`));
  } catch (error) {
    onBadId?.(error);
  }
  return fallback();
}
