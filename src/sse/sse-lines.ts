/** Any of the three line endings the SSE parser accepts. */
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * `data:` lines for a value: a string as is, anything else as JSON. Every kind of line break
 * starts a new `data:` line, so the client gets the text back joined with `\n`.
 */
export function dataLines(data: unknown): string {
  const text = typeof data === "string" ? data : toJson(data);
  // JSON never contains a raw line break, and most strings do not: skip the split.
  if (text.indexOf("\n") === -1 && text.indexOf("\r") === -1) return `data: ${text}\n`;
  let lines = "";
  for (const line of text.split(LINE_BREAK)) lines += `data: ${line}\n`;
  return lines;
}

/** `:` lines for a comment, one per line of text. */
export function commentLines(comment: string): string {
  let lines = "";
  for (const line of comment.split(LINE_BREAK)) lines += line === "" ? ":\n" : `: ${line}\n`;
  return lines;
}

/** A complete data-only event (what a handler's plain yielded value becomes). */
export function dataFrame(data: unknown): string {
  return `${dataLines(data)}\n`;
}

function toJson(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`SSE data cannot be serialised as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new TypeError(`SSE data cannot be serialised as JSON: got ${typeof value}`);
  }
  return json;
}
