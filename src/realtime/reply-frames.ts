import type { ErrorBody, Ref } from "../protocol/frames.js";
import { stringifyJson } from "../util/json.js";

/** An ok reply's text; throws (TypeError) when the result has no JSON form. */
export function okReply(ref: Ref, result: unknown): string {
  const json = result === undefined ? "null" : stringifyJson(result);
  return `{"type":"reply","ref":${JSON.stringify(ref)},"ok":true,"result":${json}}`;
}

export function errorReply(ref: Ref | null, error: ErrorBody): string {
  return JSON.stringify({ type: "reply", ref, ok: false, error });
}

/** The ok reply of a subscribe, where the subscription starts. */
export function positionReply(ref: Ref, position: string | null): string {
  return okReply(ref, { position });
}
