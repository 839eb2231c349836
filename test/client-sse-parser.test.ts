// The streaming SSE parser of sluice/client (src/client/sse-parser.ts): the spec's rules on
// examples, and a property: any split of the bytes gives the events of the whole.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type SseMessage, SseParser } from "../src/client/sse-parser.js";

/** Parses `bytes` cut at `cuts`, decoding as fetchEvents does (TextDecoder, streaming). */
function parseBytes(bytes: Uint8Array, cuts: number[] = []): SseMessage[] {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const events: SseMessage[] = [];
  let start = 0;
  for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
    events.push(...parser.push(decoder.decode(bytes.subarray(start, cut), { stream: true })));
    start = cut;
  }
  return events;
}

function parse(text: string): SseMessage[] {
  return parseBytes(new TextEncoder().encode(text));
}

describe("the client's SSE parser", () => {
  test("fields, defaults, multi-line data and the persisting id", () => {
    assert.deepEqual(parse("event: a\nid: 1\ndata: x\ndata:  y\n\ndata\n\n"), [
      { event: "a", data: "x\n y", id: "1", retry: undefined },
      { event: "message", data: "", id: "1", retry: undefined },
    ]);
  });

  test("comments, unknown fields and a block without data dispatch nothing; the event type resets", () => {
    assert.deepEqual(parse(": hi\nfoo: bar\nevent: e\n\ndata: d\n\n"), [
      { event: "message", data: "d", id: "", retry: undefined },
    ]);
  });

  test("an id holding NUL is ignored; an empty id clears it", () => {
    assert.deepEqual(
      parse("id: 7\ndata: a\n\nid: x\0y\ndata: b\n\nid\ndata: c\n\n").map((e) => e.id),
      ["7", "7", ""],
    );
  });

  test("retry takes digits only", () => {
    assert.deepEqual(
      parse("retry: 250\ndata: a\n\nretry: 1e3\ndata: b\n\nretry: -5\ndata: c\n\n").map(
        (e) => e.retry,
      ),
      [250, 250, 250],
    );
  });

  test("CR, LF and CRLF all end lines, a CRLF split across chunks included; a BOM is dropped", () => {
    const bytes = new TextEncoder().encode("\uFEFFdata: a\r\rdata: b\r\n\r\ndata: c\n\n");
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(
        parseBytes(bytes, [cut]).map((e) => e.data),
        ["a", "b", "c"],
        `cut at ${cut}`,
      );
    }
  });

  test("an unfinished event at the end is not dispatched", () => {
    assert.deepEqual(parse("data: a\n\ndata: b\n"), [
      { event: "message", data: "a", id: "", retry: undefined },
    ]);
  });

  test("a CR, then an empty chunk (a decoder holding half a character), then LF is one line end", () => {
    const parser = new SseParser();
    const events = [
      ...parser.push("data: a\r"),
      ...parser.push(""),
      ...parser.push("\ndata: b\n\n"),
    ];
    assert.deepEqual(
      events.map((e) => e.data),
      ["a\nb"],
    );
  });

  test("the property's counterexample of seed 2034668618: a repeated cut after a CR kept the event name", () => {
    // The stream fast-check built (its printout lost characters); the cut at 31 twice gives
    // the decoder an empty chunk right after the CR that ends the event line.
    const stream =
      ":\ud83d\ude50\u1e6b\ua095\ua8aa\r\nevent: \uffe4\ud823\udc05\r\nid: \r\ndata: \u0120\ud822\udee0\ud83d\udfab\r\ndata: \r\n\r\n";
    assert.deepEqual(parseBytes(new TextEncoder().encode(stream), [31, 31, 43, 58]), [
      {
        event: "\uffe4\ud823\udc05",
        data: "\u0120\ud822\udee0\ud83d\udfab\n",
        id: "",
        retry: undefined,
      },
    ]);
  });

  test("the last event id changes when a block ends, not at its id line; an id-only block sets it", () => {
    const parser = new SseParser("0");
    parser.push("id: 1\ndata: one\n\nid: 2\ndata: tw");
    assert.equal(parser.lastEventId, "1", "the cut block's id is not the last event id");
    const cut = new SseParser();
    cut.push("id: 7\ndata: x\n");
    assert.equal(cut.lastEventId, "");
    const opening = new SseParser();
    assert.deepEqual(opening.push(": sluice.v1\nid: 5\n\n"), []);
    assert.equal(opening.lastEventId, "5");
    assert.deepEqual(new SseParser("9").push("data: a\n\n")[0]?.id, "9");
  });

  test("property: any chunking of the bytes gives the same events as the whole", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 8 }).map((s) => s.replace(/[\r\n]/g, ""));
    const ending = fc.constantFrom("\n", "\r", "\r\n");
    const block = fc.record({
      event: fc.option(
        text.filter((s) => !s.startsWith(" ")),
        { nil: undefined },
      ),
      id: fc.option(
        text.map((s) => s.replace(/\0/g, "")),
        { nil: undefined },
      ),
      data: fc.array(text, { minLength: 1, maxLength: 3 }),
      comment: fc.option(text, { nil: undefined }),
      ending,
    });
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (blocks, bom, rawCuts) => {
          let stream = bom ? "\uFEFF" : "";
          const expected: SseMessage[] = [];
          let lastId = "";
          for (const b of blocks) {
            const eol = b.ending;
            if (b.comment !== undefined) stream += `:${b.comment}${eol}`;
            if (b.event !== undefined) stream += `event: ${b.event}${eol}`;
            if (b.id !== undefined) {
              stream += `id: ${b.id}${eol}`;
              lastId = b.id;
            }
            for (const line of b.data) stream += `data: ${line}${eol}`;
            stream += eol;
            expected.push({
              event: b.event || "message",
              data: b.data.join("\n"),
              id: lastId,
              retry: undefined,
            });
          }
          const bytes = new TextEncoder().encode(stream);
          const cuts = rawCuts.map((cut) => cut % (bytes.length + 1));
          assert.deepEqual(parseBytes(bytes, cuts), expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
