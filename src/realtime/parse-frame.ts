import { ForbiddenJsonKeyError, parseJson } from "../http/safe-json.js";
import { type ClientFrame, MAX_MID_LENGTH, MAX_REF_LENGTH, type Ref } from "../protocol/frames.js";
import { MAX_REPLAY, RESERVED_EVENTS } from "../topics/topic-checks.js";

/** Longest topic name, as the topics layer accepts them. */
const MAX_TOPIC_LENGTH = 1024;
/** Longest `since` id: ids are short (`<ms>-<seq>`); anything longer is not one. */
const MAX_ID_LENGTH = 256;

/** A frame that is not a request of the protocol: answered with `invalid`, `ref` when read. */
export class MalformedFrame {
  constructor(
    readonly problem: string,
    readonly ref: Ref | null,
  ) {}
}

/**
 * A client's frame as a request, or why it is not one (docs/protocol.md, "Frames"). Unknown
 * fields are ignored; fields of the wrong type make the frame malformed.
 */
export function parseFrame(message: string | Buffer): ClientFrame | MalformedFrame {
  if (typeof message !== "string") {
    return new MalformedFrame(
      "Binary frames are not part of sluice.v1: send JSON text frames",
      null,
    );
  }
  let value: unknown;
  try {
    value = parseJson(message, "error");
  } catch (error) {
    if (error instanceof ForbiddenJsonKeyError) {
      return new MalformedFrame(`The frame was refused: ${error.message}`, refOfRefused(message));
    }
    return new MalformedFrame(`The frame is not JSON: ${(error as Error).message}`, null);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return new MalformedFrame("A frame must be a JSON object with a type", null);
  }
  const frame = value as Record<string, unknown>;
  const ref = refOf(frame.ref);
  if (ref === undefined) {
    return new MalformedFrame(
      `A request needs a ref: a safe integer or a string of at most ${MAX_REF_LENGTH} characters`,
      null,
    );
  }
  const problem = problemOf(frame);
  return problem === undefined
    ? (frame as unknown as ClientFrame)
    : new MalformedFrame(problem, ref);
}

/**
 * The ref of a frame refused for a `__proto__` or `constructor.prototype` key (anywhere, even
 * in its data): parsed again keeping such keys, only to read the ref, so the reply finds its
 * request. Nothing else of that parse is used.
 */
function refOfRefused(text: string): Ref | null {
  const value = parseJson(text, "keep");
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  return refOf(Object.hasOwn(value, "ref") ? (value as { ref: unknown }).ref : undefined) ?? null;
}

function refOf(ref: unknown): Ref | undefined {
  if (typeof ref === "number") return Number.isSafeInteger(ref) ? ref : undefined;
  if (typeof ref === "string") return ref.length <= MAX_REF_LENGTH ? ref : undefined;
  return undefined;
}

/** What is wrong with the request's fields, or undefined. */
function problemOf(frame: Record<string, unknown>): string | undefined {
  switch (frame.type) {
    case "subscribe":
      return (
        topicProblem(frame.topic) ??
        optional(frame, "since", isId, `a string id of at most ${MAX_ID_LENGTH} characters`) ??
        optional(frame, "replay", isReplayCount, `a whole number from 1 to ${MAX_REPLAY}`) ??
        optional(frame, "joinLeave", isBoolean, "a boolean")
      );
    case "presence":
    case "unsubscribe":
      return topicProblem(frame.topic);
    case "publish":
      return (
        topicProblem(frame.topic) ??
        (frame.data === undefined ? "publish needs data (any JSON value)" : undefined) ??
        optional(
          frame,
          "event",
          isEvent,
          'a one-line string, not "reset", "join", "leave" or "expired"',
        ) ??
        optional(frame, "mid", isMid, `a string of 1 to ${MAX_MID_LENGTH} characters`) ??
        optional(frame, "store", isBoolean, "a boolean") ??
        optional(frame, "echo", isBoolean, "a boolean")
      );
    case "call":
      return typeof frame.method === "string" && frame.method.length > 0
        ? undefined
        : "call needs a method: a non-empty string";
    case "refresh":
      return typeof frame.token === "string" && frame.token.length > 0
        ? undefined
        : "refresh needs a token: a non-empty string";
    default:
      return `Unknown frame type ${JSON.stringify(frame.type) ?? "undefined"}: expected subscribe, unsubscribe, publish, call, presence or refresh`;
  }
}

function topicProblem(topic: unknown): string | undefined {
  if (typeof topic === "string" && topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH)
    return undefined;
  return `topic must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters`;
}

function optional(
  frame: Record<string, unknown>,
  field: string,
  valid: (value: unknown) => boolean,
  expected: string,
): string | undefined {
  const value = frame[field];
  return value === undefined || valid(value) ? undefined : `${field} must be ${expected}`;
}

function isId(value: unknown): boolean {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** As app.subscribe() takes it: a replay is held in memory until the peer reads it. */
function isReplayCount(value: unknown): boolean {
  return (
    typeof value === "number" && Number.isSafeInteger(value) && value >= 1 && value <= MAX_REPLAY
  );
}

function isBoolean(value: unknown): boolean {
  return typeof value === "boolean";
}

function isEvent(value: unknown): boolean {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    !/[\r\n]/.test(value) &&
    !RESERVED_EVENTS.has(value)
  );
}

function isMid(value: unknown): boolean {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_MID_LENGTH;
}
