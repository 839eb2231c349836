// SSE encoding against hostile input (issue 8): property-based checks of SseEvent's encoder
// against sluice's own parser and an independent parser written here from the WHATWG HTML
// "event stream interpretation" algorithm; then the same hostile strings over a real socket
// to the `eventsource` package; then hostile Last-Event-ID headers on a topic subscription.
//
// fast-check runs with a random seed; on failure it prints the seed and the shrunk
// counterexample (rerun with FC_SEED=<seed> to replay it).
import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { EventSource } from "eventsource";
import fc from "fast-check";
import { App, SseEvent, type SseEventInit } from "../src/index.js";
import { SseParser } from "../src/sse/sse-parser.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { portOf, rawExchange } from "./support/raw-http.js";
import { waitFor } from "./support/wait.js";

const RUNS = {
  numRuns: 300,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
};

// --- An independent, spec-exact parser -------------------------------------------------------

interface SpecEvent {
  type: string;
  data: string;
  /** The MessageEvent's lastEventId: the persistent last event ID string. */
  lastEventId: string;
}

interface SpecResult {
  events: SpecEvent[];
  lastEventId: string;
  reconnectionTime: number | undefined;
}

/**
 * WHATWG HTML §9.2.6 "Interpreting an event stream", applied to a whole decoded stream: one
 * leading BOM is dropped; lines end with CRLF, LF or CR; an unterminated last line and an
 * event not ended by a blank line are discarded.
 */
function specParse(text: string): SpecResult {
  let input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const result: SpecResult = { events: [], lastEventId: "", reconnectionTime: undefined };
  let data = "";
  let eventType = "";
  let lastEventIdBuffer = "";
  for (;;) {
    const match = /\r\n|\r|\n/.exec(input);
    if (!match) break; // end of file: pending data is discarded
    const line = input.slice(0, match.index);
    input = input.slice(match.index + match[0].length);
    if (line === "") {
      // Dispatch the event.
      result.lastEventId = lastEventIdBuffer;
      if (data === "") {
        eventType = "";
        continue;
      }
      if (data.endsWith("\n")) data = data.slice(0, -1);
      result.events.push({
        type: eventType === "" ? "message" : eventType,
        data,
        lastEventId: result.lastEventId,
      });
      data = "";
      eventType = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventType = value;
    else if (field === "data") data += `${value}\n`;
    else if (field === "id") {
      if (!value.includes("\0")) lastEventIdBuffer = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) result.reconnectionTime = Number(value);
    }
  }
  return result;
}

describe("the spec parser written here (sanity)", () => {
  test("agrees with the spec's own examples", () => {
    assert.deepEqual(specParse("data: YHOO\ndata: +2\ndata: 10\n\n").events, [
      { type: "message", data: "YHOO\n+2\n10", lastEventId: "" },
    ]);
    assert.deepEqual(
      specParse(
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
      ).events,
      [
        { type: "message", data: "first event", lastEventId: "1" },
        { type: "message", data: "second event", lastEventId: "" },
      ],
    );
    assert.deepEqual(specParse("data\n\ndata\ndata\n\ndata:").events, [
      { type: "message", data: "", lastEventId: "" },
      { type: "message", data: "\n", lastEventId: "" },
    ]);
    assert.deepEqual(specParse("\uFEFFdata:a\r\rid: 1\0\r\ndata:b\r\n\r\n").events, [
      { type: "message", data: "a", lastEventId: "" },
      { type: "message", data: "b", lastEventId: "" },
    ]);
  });
});

// --- Hostile strings --------------------------------------------------------------------------

const nastyPieces = fc.constantFrom(
  "\r",
  "\n",
  "\r\n",
  "\n\r",
  "\n\n",
  "\0",
  ":",
  " ",
  "\uFEFF",
  "\uD800", // lone high surrogate
  "\uDFFF", // lone low surrogate
  "\u2028",
  "\u0085",
  "é",
  "😀",
  "data: injected",
  "id: evil",
  "event: evil",
  "retry: 1",
);
const unit = fc.oneof(
  { weight: 3, arbitrary: nastyPieces },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
);
const veryLong = fc
  .tuple(fc.string({ unit, minLength: 1, maxLength: 6 }), fc.integer({ min: 1024, max: 70_000 }))
  .map(([piece, length]) => piece.repeat(Math.ceil(length / piece.length)).slice(0, length));
const hostile = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 8, arbitrary: fc.string({ unit, maxLength: 30 }) },
  { weight: 1, arbitrary: veryLong },
);
const hostileData = fc.oneof(
  { weight: 4, arbitrary: hostile },
  { weight: 2, arbitrary: fc.array(hostile, { maxLength: 5 }).map((lines) => lines.join("\n")) },
  { weight: 1, arbitrary: fc.array(hostile, { maxLength: 5 }).map((lines) => lines.join("\r\n")) },
  { weight: 1, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.record({ text: hostile, n: fc.integer() }) },
);
const hostileInit = fc.record(
  {
    data: hostileData,
    id: fc.oneof(hostile, fc.integer(), fc.double()),
    event: hostile,
    retry: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(2 ** 53)),
    comment: hostile,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<SseEventInit>;

/** The fields sluice must refuse in this init (empty: it must accept it). */
function refusedFields(init: SseEventInit): string[] {
  const refused: string[] = [];
  const { id, event, retry } = init;
  if (typeof id === "string" && /[\r\n\0]/.test(id)) refused.push("id");
  if (typeof id === "number" && !Number.isFinite(id)) refused.push("id");
  if (event !== undefined && /[\r\n]/.test(event)) refused.push("event");
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) refused.push("retry");
  const fields = ["data", "id", "event", "retry", "comment"] as const;
  if (fields.every((field) => init[field] === undefined)) refused.push("at least one of data");
  return refused;
}

/** What a client must get back as the data of this event (undefined: no event dispatched). */
function expectedData(data: unknown): string | undefined {
  if (data === undefined) return undefined;
  if (typeof data !== "string") return JSON.stringify(data);
  return data.replace(/\r\n|\r/g, "\n");
}

/** What a string becomes once sent as UTF-8: lone surrogates turn into U+FFFD. */
function overTheWire(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

/** Builds the event, or checks that it was refused with a clear error naming the field. */
function build(init: SseEventInit): SseEvent | undefined {
  const refused = refusedFields(init);
  let event: SseEvent;
  try {
    event = new SseEvent(init);
  } catch (error) {
    assert.ok(
      error instanceof TypeError || error instanceof RangeError,
      `expected a TypeError or RangeError, got ${String(error)}`,
    );
    assert.ok(refused.length > 0, `refused a valid event: ${error.message}`);
    assert.ok(
      refused.some((field) => error.message.includes(field)),
      `the message should name one of ${refused.join(", ")}: ${error.message}`,
    );
    return undefined;
  }
  assert.deepEqual(refused, [], `accepted an event whose ${refused.join(", ")} is unsafe`);
  return event;
}

/** Checks what one event parses to, given the client's lastEventId before it. */
function checkParsed(
  init: SseEventInit,
  spec: SpecResult,
  sluice: ReturnType<SseParser["push"]>,
  wire: (text: string) => string,
): void {
  const data = expectedData(init.data);
  const id = init.id === undefined ? undefined : wire(String(init.id));
  const type = init.event === undefined || init.event === "" ? "message" : wire(init.event);
  // A retry of -0 is sent as "retry: 0".
  const retry = init.retry === undefined ? undefined : init.retry + 0;
  if (data === undefined) {
    assert.deepEqual(spec.events, [], "no data, so no event");
    assert.deepEqual(sluice, [], "no data, so no event (sluice's parser)");
  } else {
    assert.deepEqual(spec.events, [{ type, data: wire(data), lastEventId: id ?? "" }]);
    assert.deepEqual(sluice, [
      {
        event: type,
        data: wire(data),
        id,
        retry,
      },
    ]);
  }
  // Whether or not an event was dispatched, the id and retry took effect, and nothing else did.
  assert.equal(spec.lastEventId, id ?? "");
  assert.equal(spec.reconnectionTime, retry);
}

describe("SseEvent against hostile strings (property-based)", () => {
  test("each event is refused with a clear error or parses back exactly, by both parsers", () => {
    fc.assert(
      fc.property(hostileInit, (init) => {
        const event = build(init);
        if (!event) return;
        // Every line is a known field or a comment: nothing else can have been injected.
        const lines = event.frame.split(/\r\n|\r|\n/);
        assert.equal(lines.pop(), "");
        assert.equal(lines.pop(), "", "the frame ends with a blank line");
        for (const line of lines) {
          assert.match(
            line,
            /^(:|data(: |$)|id(: |$)|event: |retry: )/,
            `line ${JSON.stringify(line)}`,
          );
        }
        // As text (what the encoder produced) ...
        checkParsed(init, specParse(event.frame), new SseParser().push(event.frame), (s) => s);
        // ... and as the UTF-8 bytes that go out, decoded the way a client decodes them.
        const bytes = event.bytes;
        checkParsed(
          init,
          specParse(new TextDecoder().decode(bytes)),
          new SseParser().push(bytes),
          overTheWire,
        );
      }),
      RUNS,
    );
  });

  test("N encoded events, cut into arbitrary chunks, parse to exactly the N with data", () => {
    fc.assert(
      fc.property(
        fc.array(hostileInit, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (inits, cuts) => {
          const events = inits.map(build).filter((event) => event !== undefined);
          const stream = Buffer.concat(events.map((event) => event.bytes));
          const withData = events.filter((event) => event.data !== undefined);
          const expected = withData.map((event) => overTheWire(expectedData(event.data) as string));

          const spec = specParse(new TextDecoder().decode(stream));
          assert.deepEqual(
            spec.events.map((event) => event.data),
            expected,
          );

          // Sluice's parser, fed the bytes cut at arbitrary places (inside UTF-8 sequences too).
          const positions = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const parser = new SseParser();
          const parsed = [];
          let start = 0;
          for (const end of [...positions, stream.length]) {
            parsed.push(...parser.push(stream.subarray(start, end)));
            start = end;
          }
          assert.deepEqual(
            parsed.map((message) => message.data),
            expected,
          );
          assert.deepEqual(
            parsed.map((message) => message.event),
            spec.events.map((event) => event.type),
          );
          assert.equal(parser.lastEventId, spec.lastEventId);
          assert.equal(parser.reconnectionTime, spec.reconnectionTime);
        },
      ),
      { ...RUNS, numRuns: 150 },
    );
  });

  test("sluice's parser agrees with the spec parser on arbitrary streams", () => {
    const line = fc.oneof(
      hostile,
      fc
        .tuple(
          fc.constantFrom("data", "id", "event", "retry", ":", "dat", ""),
          fc.constantFrom(":", ": ", ":  ", ""),
          hostile,
        )
        .map(([field, separator, value]) => `${field}${separator}${value}`),
    );
    const ending = fc.constantFrom("\n", "\r", "\r\n", "\n\n", "\r\r", "\r\n\r\n");
    const stream = fc
      .array(fc.tuple(line, ending), { maxLength: 12 })
      .map((parts) => parts.map(([text, end]) => text + end).join(""));
    fc.assert(
      fc.property(fc.option(fc.constant("\uFEFF"), { nil: "" }), stream, (bom, body) => {
        const text = overTheWire(bom + body);
        const spec = specParse(text);
        for (const asBytes of [false, true]) {
          const parser = new SseParser();
          const got = parser.push(asBytes ? Buffer.from(text, "utf8") : text);
          const label = asBytes ? "bytes" : "text";
          assert.deepEqual(
            got.map((message) => ({ type: message.event, data: message.data })),
            spec.events.map((event) => ({ type: event.type, data: event.data })),
            label,
          );
          assert.equal(parser.lastEventId, spec.lastEventId, `${label}: lastEventId`);
          assert.equal(parser.reconnectionTime, spec.reconnectionTime, `${label}: retry`);
        }
      }),
      RUNS,
    );
  });

  test("a block cut off by the end of the stream does not set the last event id (spec)", () => {
    // The id is committed when its block is dispatched: reconnecting with "2" here would skip
    // an event the client never got.
    const parser = new SseParser();
    assert.deepEqual(
      parser.push("id: 1\ndata: a\n\nid: 2\ndata: b\n").map((message) => message.data),
      ["a"],
    );
    assert.equal(parser.lastEventId, "1");
    assert.equal(specParse("id: 1\ndata: a\n\nid: 2\ndata: b\n").lastEventId, "1");
  });
});

// --- Over a real socket, to the eventsource package -------------------------------------------

interface Seen {
  type: string;
  data: string;
  lastEventId: string;
}

/** An EventSource that records every MessageEvent it dispatches, whatever its type. */
class RecordingEventSource extends EventSource {
  readonly seen: Seen[] = [];
  opens = 0;

  override dispatchEvent(event: Event): boolean {
    if (event instanceof MessageEvent) {
      this.seen.push({
        type: event.type,
        data: String(event.data),
        lastEventId: event.lastEventId,
      });
    } else if (event.type === "open") this.opens++;
    return super.dispatchEvent(event);
  }
}

describe("hostile strings over a real socket, to eventsource", () => {
  test("CR/LF/NUL in data, comments and names arrive as sent, with no injected field or event", async () => {
    const refusals: string[] = [];
    const app = quietApp();
    app.sse("/hostile", function* () {
      yield new SseEvent({ data: "a\rb\nc\r\nd\0e", id: "1", event: "ok" });
      yield "plain\nid: evil\nevent: evil\n\ndata: injected"; // a data-only event
      yield new SseEvent({ comment: "c1\ndata: injected\n\nid: evil\r", data: "after comment" });
      yield new SseEvent({ data: "\n\n\n", event: "nul\0name" });
      for (const init of [
        { data: "x", id: "2\ndata: injected" },
        { data: "x", id: "3\0" },
        { data: "x", event: "evil\revent: injected" },
        { data: "x", retry: -1 },
      ]) {
        try {
          yield new SseEvent(init);
        } catch (error) {
          refusals.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
      yield new SseEvent({ data: "last", id: "4" });
    });
    await using client = await TestClient.start(app);
    const es = new RecordingEventSource(`${client.url}/hostile`);
    try {
      await waitFor(() => es.seen.some((event) => event.data === "last"), "the last event");
    } finally {
      es.close();
    }
    assert.deepEqual(es.seen, [
      { type: "ok", data: "a\nb\nc\nd\0e", lastEventId: "1" },
      { type: "message", data: "plain\nid: evil\nevent: evil\n\ndata: injected", lastEventId: "" },
      { type: "message", data: "after comment", lastEventId: "" },
      { type: "nul\0name", data: "\n\n\n", lastEventId: "" },
      { type: "message", data: "last", lastEventId: "4" },
    ]);
    assert.equal(refusals.length, 4);
    assert.match(refusals[0]!, /^TypeError: SseEvent id must not contain CR, LF or NUL/);
    assert.match(refusals[1]!, /^TypeError: SseEvent id must not contain CR, LF or NUL/);
    assert.match(refusals[2]!, /^TypeError: SseEvent event must not contain CR or LF/);
    assert.match(refusals[3]!, /^TypeError: SseEvent retry must be a non-negative integer/);
  });

  test("an event refused inside the producer: logged, the stream ends cleanly, the process stays up", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse("/throws", { retry: 50 }, function* () {
      yield new SseEvent({ data: "before", id: "1" });
      yield new SseEvent({ data: "never", id: "2\nevent: injected" });
    });
    app.get("/alive", () => ({ alive: true }));
    await using client = await TestClient.start(app);

    // The wire: the first event, then a clean end (chunked terminator), nothing half-written.
    const raw = await rawExchange(
      portOf(client.url),
      "GET /throws HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nconnection: close\r\n\r\n",
    );
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.ok(raw.endsWith("0\r\n\r\n"), `a clean chunked end: ${JSON.stringify(raw.slice(-40))}`);
    assert.ok(raw.includes("data: before\n\n"));
    assert.ok(!raw.includes("never") && !raw.includes("injected"));

    const es = new RecordingEventSource(`${client.url}/throws`);
    try {
      // It gets the first event, and reconnects after the clean end (a second open).
      await waitFor(() => es.opens >= 2, "a reconnect after the clean end", 6000);
    } finally {
      es.close();
    }
    assert.ok(es.seen.every((event) => event.data === "before" && event.type === "message"));

    const logged = lines.find((line) => line.level >= 50 && line.err?.message?.includes("id"));
    assert.ok(logged, `the TypeError was logged: ${JSON.stringify(lines.map((l) => l.msg))}`);
    assert.match(logged.err!.message, /SseEvent id must not contain CR, LF or NUL/);
    assert.equal(typeof logged.reqId, "string");
    assert.deepEqual(await (await fetch(`${client.url}/alive`)).json(), { alive: true });
  });
});

// --- Hostile Last-Event-ID on a topic subscription --------------------------------------------

describe("hostile Last-Event-ID on a topic subscription", () => {
  async function topicApp() {
    const app = quietApp();
    app.sse("/topics/:topic", (req) =>
      app.subscribe(req.params.topic as string, {
        lastEventId: req.lastEventId,
        signal: req.signal,
      }),
    );
    app.get("/alive", () => ({ alive: true }));
    const client = await TestClient.start(app);
    const head = await app.publish("t", { n: 1 });
    return { app, client, head };
  }

  /**
   * One GET with this Last-Event-ID, given as the Latin-1 string of the bytes to send (Node's
   * client writes header values as Latin-1). Resolves with the status and the body up to the
   * end of its first event (or its end).
   */
  function openTopic(url: string, latin1Value: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${url}/topics/t`,
        { headers: { accept: "text/event-stream", "last-event-id": latin1Value }, agent: false },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          const done = () => {
            resolve({ status: response.statusCode ?? 0, body });
            req.destroy();
          };
          response.on("data", (chunk: string) => {
            body += chunk;
            if (response.statusCode === 200 && body.includes("\n\n")) done();
          });
          response.on("end", done);
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  const latin1 = (text: string) => Buffer.from(text, "utf8").toString("latin1");

  test("over 1024 bytes: 400 with a clear message; 1024 bytes: a reset event", async () => {
    const { client } = await topicApp();
    await using _ = client;
    const tooLong = await fetch(`${client.url}/topics/t`, {
      headers: { accept: "text/event-stream", "last-event-id": "1".repeat(1025) },
    });
    assert.equal(tooLong.status, 400);
    const body = (await tooLong.json()) as { message: string };
    assert.match(body.message, /Last-Event-ID is too long: 1025 bytes, at most 1024/);

    // Multi-byte: the limit is on bytes, 600 × "é" is 1200 bytes.
    const wide = await openTopic(client.url, latin1("é".repeat(600)));
    assert.equal(wide.status, 400);
    assert.match(wide.body, /Last-Event-ID is too long: 1200 bytes/);

    const atLimit = await openTopic(client.url, "9".repeat(1024));
    assert.equal(atLimit.status, 200);
    assert.equal(specParse(atLimit.body).events[0]?.type, "reset");
    assert.match(atLimit.body, /"reason":"unknown"/);
    assert.deepEqual(await (await fetch(`${client.url}/alive`)).json(), { alive: true });
  });

  test("NUL, CR, LF in the header: 400 from the HTTP parser, never a 500 or a crash", async () => {
    const { client } = await topicApp();
    await using _ = client;
    const port = portOf(client.url);
    for (const value of ["1\0-0", "1\r-0", "a\rb: c", "1-0\0"]) {
      const answer = await rawExchange(
        port,
        Buffer.from(
          `GET /topics/t HTTP/1.1\r\nhost: x\r\nlast-event-id: ${value}\r\nconnection: close\r\n\r\n`,
          "latin1",
        ),
      );
      assert.match(
        answer,
        /^HTTP\/1\.1 400 /,
        `${JSON.stringify(value)} -> ${JSON.stringify(answer.slice(0, 60))}`,
      );
    }
    assert.deepEqual(await (await fetch(`${client.url}/alive`)).json(), { alive: true });
  });

  test("non-ASCII and malformed stream ids: a reset event (reason unknown) carrying the id back as JSON", async () => {
    const { client, head } = await topicApp();
    await using _ = client;
    const cases: [sent: string, echoed: string][] = [
      [latin1("ü-1"), "ü-1"], // UTF-8, decoded
      ["\xff-1", "ÿ-1"], // not UTF-8: kept as Latin-1
      ["abc", "abc"],
      ["1-", "1-"],
      ["-1", "-1"],
      ["1-2-3", "1-2-3"],
      ["99999999999999999999999-1", "99999999999999999999999-1"],
      ["18446744073709551615-18446744073709551615", "18446744073709551615-18446744073709551615"],
      ['"},{"x":1', '"},{"x":1'],
      ["id: 1\tdata: x", "id: 1\tdata: x"],
    ];
    for (const [sent, echoed] of cases) {
      const answer = await openTopic(client.url, sent);
      assert.equal(answer.status, 200, echoed);
      const { events } = specParse(answer.body);
      assert.deepEqual(
        events,
        [
          {
            type: "reset",
            data: JSON.stringify({ reason: "unknown", lastEventId: echoed }),
            lastEventId: head,
          },
        ],
        echoed,
      );
    }
    assert.deepEqual(await (await fetch(`${client.url}/alive`)).json(), { alive: true });
  });
});
