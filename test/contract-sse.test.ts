// Typed SSE routes (issue 21): `app.sse(path, { events }, handler)` with zod and with valibot.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { App, OutputValidationError, SseEvent, type StandardSchemaV1 } from "../src/index.js";
import { CheckedEvents } from "../src/sse/sse-event-check.js";
import { SseParser } from "../src/sse/sse-parser.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { waitFor, within } from "./support/wait.js";

interface Schemas {
  tick: StandardSchemaV1<{ n: number }>;
  /** Transforms its text: what is sent must still be what the handler gave. */
  note: StandardSchemaV1<{ text: string }, { text: string }>;
  slow: StandardSchemaV1<{ n: number }>;
}

const libraries: Record<string, Schemas> = {
  zod: {
    tick: z.object({ n: z.number().int() }),
    note: z.object({ text: z.string().transform((text) => text.toUpperCase()) }),
    slow: z.object({ n: z.number().refine(async (n) => n < 100, "must be under 100") }),
  },
  valibot: {
    tick: v.object({ n: v.pipe(v.number(), v.integer()) }),
    note: v.object({
      text: v.pipe(
        v.string(),
        v.transform((text) => text.toUpperCase()),
      ),
    }),
    slow: v.objectAsync({
      n: v.pipeAsync(
        v.number(),
        v.checkAsync(async (n) => n < 100, "must be under 100"),
      ),
    }),
  },
};

/** A source left running holds app.close() for its timeout: fail, do not hang the run. */
const BOUNDED = { timeout: 10_000 };

/** The whole body of a stream that ends, as events. */
async function eventsOf(client: TestClient, path: string) {
  const stream = await client.stream("GET", path);
  assert.equal(stream.statusCode, 200);
  const body = await within(stream.text(), `the end of ${path}`);
  return new SseParser().push(body).map(({ event, data, id }) => ({ event, data, id }));
}

for (const [library, schemas] of Object.entries(libraries)) {
  describe(`app.sse() with ${library} event schemas`, () => {
    test("typed events go out as the handler gave them: SseEvents, event objects and message data", async () => {
      const app = quietApp({ validateOutput: true });
      app.sse("/feed", { events: { tick: schemas.tick, message: schemas.note } }, function* () {
        yield new SseEvent({ event: "tick", data: { n: 1 } });
        yield { event: "tick", data: { n: 2 }, id: 7 };
        yield { text: "as given" };
        yield { data: { text: "with an id" }, id: 8 };
      });
      await using client = await TestClient.start(app);
      assert.deepEqual(await eventsOf(client, "/feed"), [
        { event: "tick", data: '{"n":1}', id: undefined },
        { event: "tick", data: '{"n":2}', id: "7" },
        { event: "message", data: '{"text":"as given"}', id: undefined },
        { event: "message", data: '{"text":"with an id"}', id: "8" },
      ]);
    });

    for (const [what, bad] of [
      ["an undeclared event name", { event: "tock", data: { n: 2 } }],
      ["data its schema refuses", { event: "tick", data: { n: 2.5 } }],
    ] as const) {
      test(`${what}: with validateOutput on, the stream ends there, logged once, the producer stopped`, async () => {
        const { logger, lines } = capturedLogger();
        const app = new App({ logger, validateOutput: true });
        let finallyRan = false;
        app.sse("/feed", { events: { tick: schemas.tick } }, async function* () {
          try {
            yield { event: "tick", data: { n: 1 } } as const;
            yield bad as never;
            yield { event: "tick", data: { n: 3 } } as const;
          } finally {
            finallyRan = true;
          }
        });
        await using client = await TestClient.start(app);
        assert.deepEqual(await eventsOf(client, "/feed"), [
          { event: "tick", data: '{"n":1}', id: undefined },
        ]);
        await waitFor(() => finallyRan, "the producer's finally");
        const errors = errorLines(lines);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0]?.err?.type, "OutputValidationError");
        assert.match(
          errors[0]?.err?.message ?? "",
          bad.event === "tock"
            ? /invalid event "tock": "tock" is not one of the route's events \(declared: tick\)/
            : /invalid event "tick": n: /,
        );
      });

      test(`${what}: with validateOutput off, it is sent unchecked`, async () => {
        const app = quietApp({ validateOutput: false });
        app.sse("/feed", { events: { tick: schemas.tick } }, function* () {
          yield bad as never;
        });
        await using client = await TestClient.start(app);
        assert.deepEqual(await eventsOf(client, "/feed"), [
          { event: bad.event, data: JSON.stringify(bad.data), id: undefined },
        ]);
      });
    }

    test("data-only values on a route without a message event are refused (validateOutput on)", async () => {
      const { logger, lines } = capturedLogger();
      const app = new App({ logger, validateOutput: true });
      app.sse("/feed", { events: { tick: schemas.tick } }, () => [{ n: 1 }] as never);
      await using client = await TestClient.start(app);
      assert.deepEqual(await eventsOf(client, "/feed"), []);
      assert.match(errorLines(lines)[0]?.err?.message ?? "", /invalid event "message"/);
    });

    test("an async schema checks each event before it goes out", async () => {
      const { logger, lines } = capturedLogger();
      const app = new App({ logger, validateOutput: true });
      app.sse("/slow", { events: { tick: schemas.slow } }, async function* () {
        yield { event: "tick", data: { n: 1 } } as const;
        yield { event: "tick", data: { n: 2 } } as const;
        yield { event: "tick", data: { n: 100 } } as const;
      });
      await using client = await TestClient.start(app);
      assert.deepEqual(
        (await eventsOf(client, "/slow")).map((event) => event.data),
        ['{"n":1}', '{"n":2}'],
      );
      assert.match(errorLines(lines)[0]?.err?.message ?? "", /n: must be under 100/);
    });

    test("a topic subscription returned from a typed route is checked too", async () => {
      const app = quietApp({ validateOutput: true });
      app.sse("/topics/news", { events: { message: schemas.note } }, (req) =>
        app.subscribe("news", { signal: req.signal }),
      );
      await using client = await TestClient.start(app);
      const stream = await client.stream("GET", "/topics/news");
      await waitFor(() => app.topicSubscribers === 1, "the subscription");
      await app.publish("news", { text: "hello" });
      await app.publish("news", { text: "elsewhere" }, { event: "gossip" });
      await app.publish("news", { text: "never sent" });
      const events = new SseParser().push(await within(stream.text(), "the stream's end"));
      assert.deepEqual(
        events.map((event) => [event.event, event.data]),
        [["message", '{"text":"hello"}']],
      );
      await waitFor(() => app.topicSubscribers === 0, "the subscription's end");
    });

    test("a sync source checked by sync schemas makes no promise per event; an async schema does", async () => {
      const ticks = [1, 2].map((n) => ({ event: "tick", data: { n } }));
      const sync = new CheckedEvents(ticks, { tick: schemas.tick });
      const first = sync.next();
      assert.ok(!(first instanceof Promise), "a plain result");
      assert.deepEqual(first, { done: false, value: ticks[0] });
      assert.deepEqual(sync.next(), { done: false, value: ticks[1] });
      assert.deepEqual(sync.next(), { done: true, value: undefined });
      assert.throws(
        () =>
          new CheckedEvents([{ event: "tick", data: { n: 0.5 } }], { tick: schemas.tick }).next(),
        OutputValidationError,
      );
      const slow = new CheckedEvents(ticks, { tick: schemas.slow }).next();
      assert.ok(slow instanceof Promise);
      assert.deepEqual(await slow, { done: false, value: ticks[0] });
    });

    describe("the source is stopped as on an untyped route (validateOutput on)", () => {
      /** Sources that hold one tick, then wait for data that never comes. */
      const sources = {
        Readable: () => {
          const readable = new Readable({ objectMode: true, read() {} });
          readable.push({ event: "tick", data: { n: 1 } });
          return { source: readable, stopped: () => readable.destroyed };
        },
        ReadableStream: () => {
          let cancelled = false;
          const stream = new ReadableStream({
            start(controller) {
              controller.enqueue({ event: "tick", data: { n: 1 } });
            },
            cancel() {
              cancelled = true;
            },
          });
          return { source: stream, stopped: () => cancelled };
        },
      };

      for (const [kind, make] of Object.entries(sources)) {
        test(
          `a waiting ${kind} is stopped when the client leaves, and app.close() does not wait for it`,
          BOUNDED,
          async () => {
            const app = quietApp({ validateOutput: true });
            const { source, stopped } = make();
            app.sse("/feed", { events: { tick: schemas.tick } }, () => source as never);
            // A source left running would hold app.close() for closeTimeout.
            await using client = await TestClient.start(app, { closeTimeout: 5000 });
            const stream = await client.stream("GET", "/feed");
            const first = await within(stream.events().next(), "the first event");
            assert.equal(first.value?.data, '{"n":1}');
            await stream.close();
            await waitFor(stopped, `the ${kind} to be stopped`);
            const started = performance.now();
            await client.close();
            assert.ok(performance.now() - started < 2000, "app.close() waited for the source");
          },
        );

        test(`a ${kind} whose event is refused is stopped`, BOUNDED, async () => {
          const app = quietApp({ validateOutput: true });
          const { source, stopped } = make();
          app.sse("/feed", { events: { tock: schemas.tick } }, () => source as never);
          await using client = await TestClient.start(app, { closeTimeout: 2000 });
          assert.deepEqual(await eventsOf(client, "/feed"), []);
          await waitFor(stopped, `the ${kind} to be stopped`);
        });
      }

      test("a topic subscription is ended when the client leaves", BOUNDED, async () => {
        const app = quietApp({ validateOutput: true });
        app.sse("/topics/ticks", { events: { tick: schemas.tick } }, () => app.subscribe("ticks"));
        await using client = await TestClient.start(app);
        const stream = await client.stream("GET", "/topics/ticks");
        await waitFor(() => app.topicSubscribers === 1, "the subscription");
        await app.publish("ticks", { n: 1 }, { event: "tick" });
        await within(stream.events().next(), "the first event");
        await stream.close();
        await waitFor(() => app.topicSubscribers === 0, "the subscription's end");
      });
    });
  });
}

describe("typed SSE routes: declaration", () => {
  test("events that are not an object of schemas are refused when the route is added", () => {
    const app = quietApp();
    const handler = () => [];
    assert.throws(
      () => app.sse("/a", { events: [] as never }, handler),
      /SSE route \/a: events must be an object of event names to schemas/,
    );
    assert.throws(
      () => app.sse("/b", { events: { tick: "number" as never } }, handler),
      /SSE route \/b: events\["tick"\] must be a Standard Schema/,
    );
    assert.throws(
      () => app.sse("/c", { events: { "a\nb": z.string() } }, handler),
      /SSE route \/c: events\["a\\nb"\]: an event name must be non-empty, without CR or LF/,
    );
  });
});
