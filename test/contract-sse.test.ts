// Typed SSE routes (issue 21): `app.sse(path, { events }, handler)` with zod and with valibot.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { App, SseEvent, type StandardSchemaV1 } from "../src/index.js";
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
