import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SseEvent } from "../src/index.js";
import { type SseMessage, SseParser } from "../src/testing/index.js";

/** Parses a whole text, as a client would receive it. */
function parse(text: string): SseMessage[] {
  return new SseParser().push(text);
}

/** Feeds a text one character at a time: every possible chunk boundary is crossed. */
function parseCharByChar(text: string): SseMessage[] {
  const parser = new SseParser();
  const events: SseMessage[] = [];
  for (const char of text) events.push(...parser.push(char));
  return events;
}

describe("SseEvent encoding", () => {
  test("every field, in a fixed order, ends with a blank line", () => {
    const event = new SseEvent({
      comment: "note",
      event: "update",
      id: "7",
      retry: 3000,
      data: { tick: 1 },
    });
    assert.equal(event.frame, ': note\nevent: update\nid: 7\nretry: 3000\ndata: {"tick":1}\n\n');
    assert.deepEqual(
      { data: event.data, id: event.id, event: event.event, retry: event.retry },
      { data: { tick: 1 }, id: "7", event: "update", retry: 3000 },
    );
  });

  test("a string is sent as is, anything else as JSON", () => {
    assert.equal(new SseEvent({ data: "plain text" }).frame, "data: plain text\n\n");
    assert.equal(new SseEvent({ data: '"quoted"' }).frame, 'data: "quoted"\n\n');
    assert.equal(new SseEvent({ data: 42 }).frame, "data: 42\n\n");
    assert.equal(new SseEvent({ data: null }).frame, "data: null\n\n");
    assert.equal(new SseEvent({ data: [1, "a\nb"] }).frame, 'data: [1,"a\\nb"]\n\n');
    assert.equal(new SseEvent({ data: "" }).frame, "data: \n\n");
  });

  test("every kind of line break in data starts a new data: line", () => {
    assert.equal(
      new SseEvent({ data: "a\nb\r\nc\rd" }).frame,
      "data: a\ndata: b\ndata: c\ndata: d\n\n",
    );
    assert.equal(new SseEvent({ data: "\n" }).frame, "data: \ndata: \n\n");
    assert.equal(new SseEvent({ data: "x\r\n" }).frame, "data: x\ndata: \n\n");
  });

  test("a comment with line breaks becomes several comment lines", () => {
    assert.equal(
      new SseEvent({ comment: "one\ntwo\r\n\rthree" }).frame,
      ": one\n: two\n:\n: three\n\n",
    );
  });

  test("numeric ids are sent as their decimal text; an empty id resets the client's last id", () => {
    assert.equal(new SseEvent({ id: 12, data: "x" }).frame, "id: 12\ndata: x\n\n");
    assert.equal(new SseEvent({ id: "", data: "x" }).frame, "id\ndata: x\n\n");
    assert.equal(parse(new SseEvent({ id: "", data: "x" }).frame)[0].id, "");
  });

  test("leading spaces in values survive (the parser strips exactly one)", () => {
    const event = new SseEvent({ data: "  indented", id: " spaced", event: " e" });
    assert.deepEqual(parse(event.frame), [
      { event: " e", data: "  indented", id: " spaced", retry: undefined },
    ]);
  });

  test("injection attempts throw a TypeError when the event is created", () => {
    const attempts: [string, () => unknown, RegExp][] = [
      [
        "event with LF",
        () => new SseEvent({ event: "x\ndata: injected" }),
        /event must not contain CR or LF/,
      ],
      [
        "event with CR",
        () => new SseEvent({ event: "x\rdata: injected" }),
        /event must not contain CR or LF/,
      ],
      [
        "id with LF",
        () => new SseEvent({ id: "1\nevent: evil" }),
        /id must not contain CR, LF or NUL/,
      ],
      [
        "id with CR",
        () => new SseEvent({ id: "1\revent: evil" }),
        /id must not contain CR, LF or NUL/,
      ],
      ["id with CRLF", () => new SseEvent({ id: "1\r\n" }), /id must not contain/],
      ["id with NUL", () => new SseEvent({ id: "a\0b" }), /id must not contain CR, LF or NUL/],
      ["negative retry", () => new SseEvent({ retry: -1 }), /retry must be a non-negative integer/],
      [
        "fractional retry",
        () => new SseEvent({ retry: 1.5 }),
        /retry must be a non-negative integer/,
      ],
      [
        "NaN retry",
        () => new SseEvent({ retry: Number.NaN }),
        /retry must be a non-negative integer/,
      ],
      ["infinite retry", () => new SseEvent({ retry: Number.POSITIVE_INFINITY }), /retry/],
      ["string retry", () => new SseEvent({ retry: "100" as unknown as number }), /retry/],
      [
        "infinite id",
        () => new SseEvent({ id: Number.POSITIVE_INFINITY }),
        /id must be a finite number/,
      ],
      [
        "object id",
        () => new SseEvent({ id: {} as unknown as string }),
        /id must be a string or a number/,
      ],
      [
        "number event",
        () => new SseEvent({ event: 1 as unknown as string }),
        /event must be a string/,
      ],
      [
        "object comment",
        () => new SseEvent({ comment: {} as unknown as string }),
        /comment must be a string/,
      ],
      [
        "no fields at all",
        () => new SseEvent({}),
        /at least one of data, id, event, retry or comment/,
      ],
      ["not an object", () => new SseEvent(null as unknown as object), /takes an object/],
      ["BigInt data", () => new SseEvent({ data: 1n }), /cannot be serialised as JSON/],
      [
        "function data",
        () => new SseEvent({ data: () => 1 }),
        /cannot be serialised as JSON: got function/,
      ],
    ];
    for (const [name, attempt, message] of attempts) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof TypeError, `${name}: a TypeError`);
        assert.match(error.message, message, name);
        return true;
      });
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => new SseEvent({ data: circular }), TypeError);
  });

  test("event names and ids may hold any other character, including ':' and unicode", () => {
    const event = new SseEvent({ event: "ns:update ✓", id: "a:b:c 🎉", data: "d" });
    assert.deepEqual(parse(event.frame), [
      { event: "ns:update ✓", data: "d", id: "a:b:c 🎉", retry: undefined },
    ]);
  });
});

describe("SseEvent round trip through a spec parser", () => {
  const texts = [
    "simple",
    "two\nlines",
    "crlf\r\nlines",
    "cr\ronly",
    "mixed\n\r\n\r end",
    "\nleading newline",
    "trailing newline\n",
    "\r\n\r\n",
    "",
    " leading space",
    "data: looks like a field\n\nevent: and a blank line",
    ": looks like a comment",
    "unicode ✓ 漢字 🎉 and NUL \0 inside",
    "x".repeat(100_000),
  ];
  for (const text of texts) {
    test(`data ${JSON.stringify(text.slice(0, 40))} comes back joined with \\n`, () => {
      const frame = new SseEvent({ data: text, id: "1", event: "t" }).frame;
      const expected = [
        { event: "t", data: text.replace(/\r\n|\r/g, "\n"), id: "1", retry: undefined },
      ];
      assert.deepEqual(parse(frame), expected);
      if (text.length < 1000) assert.deepEqual(parseCharByChar(frame), expected);
    });
  }

  test("JSON data parses back to the same value", () => {
    const value = { nested: { list: [1, 2, { s: "a\nb\r\nc" }] }, emoji: "🎉", n: null };
    const [message] = parse(new SseEvent({ data: value }).frame);
    assert.deepEqual(JSON.parse(message.data), value);
  });
});

describe("SseParser (WHATWG event stream interpretation)", () => {
  test("LF, CRLF and CR line endings, also split across chunks", () => {
    const expected = [
      { event: "message", data: "a", id: undefined, retry: undefined },
      { event: "message", data: "b", id: undefined, retry: undefined },
      { event: "message", data: "c", id: undefined, retry: undefined },
    ];
    const text = "data: a\n\ndata: b\r\n\r\ndata: c\r\r";
    assert.deepEqual(parse(text), expected);
    assert.deepEqual(parseCharByChar(text), expected);
    // A CR at the end of one chunk and the LF at the start of the next are one line ending.
    const parser = new SseParser();
    assert.deepEqual(parser.push("data: x\r"), []);
    assert.deepEqual(parser.push("\n\r"), [
      { event: "message", data: "x", id: undefined, retry: undefined },
    ]);
    assert.deepEqual(parser.push("\ndata: y\n\n"), [
      { event: "message", data: "y", id: undefined, retry: undefined },
    ]);
  });

  test("one leading BOM is skipped; a second one is data", () => {
    assert.deepEqual(parse("\uFEFFdata: x\n\n"), [
      { event: "message", data: "x", id: undefined, retry: undefined },
    ]);
    assert.deepEqual(parse("\uFEFF\uFEFFdata: x\n\n"), []);
    const bytes = new SseParser();
    assert.deepEqual(bytes.push(new Uint8Array([0xef, 0xbb])), []);
    assert.deepEqual(bytes.push(new TextEncoder().encode("\uFEFFdata: y\n\n").subarray(2)), [
      { event: "message", data: "y", id: undefined, retry: undefined },
    ]);
  });

  test("comments are ignored; fields without a space, or without a colon", () => {
    const text = ": comment\ndata:no space\ndata\nevent:custom\n:another\n\n";
    assert.deepEqual(parse(text), [
      { event: "custom", data: "no space\n", id: undefined, retry: undefined },
    ]);
  });

  test("only one leading space is removed from a value", () => {
    assert.deepEqual(parse("data:  two spaces\n\n")[0].data, " two spaces");
  });

  test("an id with NUL is ignored; the last id persists across events", () => {
    const parser = new SseParser();
    const events = parser.push("id: 1\ndata: a\n\nid: 2\0\ndata: b\n\ndata: c\n\n");
    assert.deepEqual(
      events.map((event) => event.id),
      ["1", undefined, undefined],
    );
    assert.equal(parser.lastEventId, "1");
  });

  test("retry is used only when it is all ASCII digits", () => {
    const parser = new SseParser();
    const events = parser.push(
      "retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry: -1\ndata: c\n\nretry:\ndata: d\n\n",
    );
    assert.deepEqual(
      events.map((event) => event.retry),
      [1500, undefined, undefined, undefined],
    );
    assert.equal(parser.reconnectionTime, 1500);
  });

  test("a block without data is not dispatched, but its id and retry still count", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push("id: 9\nretry: 10\nevent: x\n\n"), []);
    assert.equal(parser.lastEventId, "9");
    assert.equal(parser.reconnectionTime, 10);
    assert.deepEqual(parser.push("data: after\n\n"), [
      { event: "message", data: "after", id: undefined, retry: undefined },
    ]);
  });

  test("unknown fields are ignored; an event cut off by the end of the stream is not dispatched", () => {
    assert.deepEqual(parse("foo: bar\ndata: x\nbaz\n\ndata: unfinished\n"), [
      { event: "message", data: "x", id: undefined, retry: undefined },
    ]);
  });

  test("multi-byte characters split across byte chunks are decoded", () => {
    const bytes = new TextEncoder().encode("data: 🎉 漢字\n\n");
    const parser = new SseParser();
    const events: SseMessage[] = [];
    for (const byte of bytes) events.push(...parser.push(new Uint8Array([byte])));
    assert.deepEqual(events, [
      { event: "message", data: "🎉 漢字", id: undefined, retry: undefined },
    ]);
  });
});
