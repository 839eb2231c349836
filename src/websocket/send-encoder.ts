import type { Logger } from "pino";
import { OutputValidationError } from "../http/validation-error.js";
import { stringifyJson } from "../util/json.js";
import { logSafely } from "../util/logger.js";
import { runSchema, SchemaError, type SchemaOutcome } from "../util/run-schema.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";

/**
 * A route's `send` schema, made once per route: what `socket.send(value)` sends is
 * the value's JSON text, whatever its type (a string too), checked first when the App's
 * `validateOutput` is on. The value sent is the one given, never the schema's output.
 */
export class SendEncoder {
  constructor(
    readonly schema: StandardSchemaV1,
    readonly validates: boolean,
  ) {}

  /** The JSON text to send; throws (or rejects with) an OutputValidationError or a SchemaError. */
  encode(value: unknown): string | Promise<string> {
    if (!this.validates) return stringifyJson(value);
    const outcome = runSchema(this.schema, value);
    if (outcome instanceof Promise) return outcome.then((settled) => checked(settled, value));
    return checked(outcome, value);
  }
}

function checked(outcome: SchemaOutcome<unknown>, value: unknown): string {
  if (!outcome.ok) throw new OutputValidationError("message", outcome.issues, outcome.total);
  return stringifyJson(value);
}

/** Send failures already logged where they happened: the session does not log them again. */
const reported = new WeakSet<object>();

/**
 * A send refused by the route's own schema (or a schema that threw): the server's bug, logged
 * once, here, whether or not the handler awaits the send. The rejection is handled already,
 * so a send nobody awaits cannot end the process; one the handler lets through closes 1011.
 */
export function refusedSend(log: Logger, error: unknown): Promise<void> {
  if (error instanceof OutputValidationError || error instanceof SchemaError) {
    logSafely(
      log,
      "error",
      { err: error, issues: (error as Partial<OutputValidationError>).issues },
      "WebSocket send refused by the route's send schema; nothing sent",
    );
    reported.add(error);
  }
  const refused = Promise.reject(error);
  refused.catch(() => {});
  return refused;
}

/** True for an error `refusedSend()` logged already. */
export function wasReported(error: unknown): boolean {
  return typeof error === "object" && error !== null && reported.has(error);
}
