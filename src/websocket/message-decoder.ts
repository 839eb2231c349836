import { ForbiddenJsonKeyError, parseJson } from "../http/safe-json.js";
import { ValidationError } from "../http/validation-error.js";
import { runReceivedSchema } from "../util/run-received-schema.js";
import type { SchemaOutcome } from "../util/run-schema.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import { describeIssue, MAX_ISSUE_MESSAGE_LENGTH } from "../util/validation-issue.js";
import { CloseCode, fitCloseReason } from "./close-codes.js";
import type { InboxMessage } from "./message-inbox.js";
import type { OnInvalidMessage } from "./websocket-schema-options.js";

/** A message refused: the error to report and the close code `onInvalid: "close"` uses. */
export interface RefusedMessage {
  readonly ok: false;
  readonly error: ValidationError;
  /** 1007 when it was not JSON (or held a `__proto__` key), 1008 when the schema refused it. */
  readonly closeCode: number;
}

/** What a message became: the schema's output, or why it was refused. */
export type DecodedMessage = { readonly ok: true; readonly value: unknown } | RefusedMessage;

/** The onInvalid function as the reader calls it (the route declared it for its own socket type). */
export type InvalidMessageHandler = (
  error: ValidationError,
  socket: unknown,
  raw: InboxMessage,
) => unknown;

/**
 * A schema route's inbound side, made once per route and shared by its sockets:
 * each message is parsed as JSON (a binary one as UTF-8 text, as `receiveJson()` does, with
 * its `__proto__` refusal) and validated. Synchronous for a synchronous schema; a schema that
 * throws gives a SchemaError (thrown, or the promise rejects with it), except for a stack
 * overflow on deeply nested JSON: the client's input, refused as any invalid message.
 */
export class MessageDecoder {
  readonly onInvalid: "close" | "skip" | InvalidMessageHandler;

  constructor(
    readonly schema: StandardSchemaV1,
    onInvalid: OnInvalidMessage<never> | undefined,
  ) {
    this.onInvalid = (onInvalid ?? "close") as MessageDecoder["onInvalid"];
  }

  decode(raw: InboxMessage): DecodedMessage | Promise<DecodedMessage> {
    let value: unknown;
    try {
      value = parseJson(typeof raw === "string" ? raw : raw.toString("utf8"));
    } catch (error) {
      return notJson(error as Error);
    }
    const outcome = runReceivedSchema(this.schema, value);
    return outcome instanceof Promise ? outcome.then(decoded) : decoded(outcome);
  }
}

function decoded(outcome: SchemaOutcome<unknown>): DecodedMessage {
  if (outcome.ok) return outcome;
  return {
    ok: false,
    error: new ValidationError("message", outcome.issues, outcome.total),
    closeCode: CloseCode.policyViolation,
  };
}

/**
 * Text that is not JSON is reported as one issue on the message itself (path ""), whose
 * message says so: `Not JSON: Unexpected token 'h', "hello" is not valid JSON`.
 */
function notJson(error: Error): RefusedMessage {
  const text =
    error instanceof ForbiddenJsonKeyError ? error.message : `Not JSON: ${error.message}`;
  // JSON.parse quotes the text it failed on: keep a long one out of logs and replies.
  const message =
    text.length > MAX_ISSUE_MESSAGE_LENGTH
      ? `${text.slice(0, MAX_ISSUE_MESSAGE_LENGTH - 1)}…`
      : text;
  return {
    ok: false,
    error: new ValidationError("message", [{ path: "", pointer: "", message }]),
    closeCode: CloseCode.invalidPayload,
  };
}

/** The close reason for a refused message: `invalid message: name: Expected string`. */
export function refusalReason(error: ValidationError): string {
  const first = error.issues[0];
  return fitCloseReason(
    first === undefined ? "invalid message" : `invalid message: ${describeIssue(first)}`,
  );
}
