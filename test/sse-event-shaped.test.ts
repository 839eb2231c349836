// A plain `{ event, id, data }` object yielded from an SSE handler is that event (the shape
// other SSE libraries take), not JSON data under the default event with no id.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventSource } from "eventsource";
import { App, SseEvent } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { within } from "./support/wait.js";

describe("app.sse(): a plain object of SseEvent fields is an event", () => {
  test("the eventsource package gets its event type, id and data", async () => {
    const app = quietApp();
    app.sse("/ticks", async function* () {
      yield { event: "tick", id: "7", data: { n: 7 } };
      yield { id: 8, data: "plain text" };
      yield { event: "done", id: "9", data: "bye" };
    });
    await using client = await TestClient.start(app);
    const source = new EventSource(`${client.url}/ticks`);
    const received: { type: string; data: string; lastEventId: string }[] = [];
    try {
      await within(
        new Promise<void>((resolve) => {
          const note = (event: MessageEvent) => {
            received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
            if (event.type === "done") resolve();
          };
          source.addEventListener("tick", note);
          source.addEventListener("message", note);
          source.addEventListener("done", note);
        }),
        "the three events through EventSource",
      );
    } finally {
      source.close();
    }
    assert.deepEqual(received, [
      { type: "tick", data: '{"n":7}', lastEventId: "7" },
      { type: "message", data: "plain text", lastEventId: "8" },
      { type: "done", data: "bye", lastEventId: "9" },
    ]);
  });

  test("the same frame as the SseEvent it describes; any other object is still JSON data", async () => {
    const app = quietApp();
    const shaped = { event: "update", id: 3, retry: 1000, data: { a: 1 }, comment: "hi" };
    app.sse("/both", function* () {
      yield shaped;
      yield new SseEvent(shaped);
      // Not event-shaped: data alone (an envelope), no data, undefined data, a key of its own,
      // an array, a class instance.
      yield { data: "only data" };
      yield { event: "no-data" };
      yield { id: 5, data: undefined };
      yield { id: 4, name: "row" };
      yield [{ data: 1 }];
      yield new (class Row {
        data = 5;
      })();
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/both");
    const frame = ': hi\nevent: update\nid: 3\nretry: 1000\ndata: {"a":1}\n\n';
    assert.equal(
      await stream.text(),
      frame +
        frame +
        'data: {"data":"only data"}\n\n' +
        'data: {"event":"no-data"}\n\n' +
        'data: {"id":5}\n\n' +
        'data: {"id":4,"name":"row"}\n\n' +
        'data: [{"data":1}]\n\n' +
        'data: {"data":5}\n\n',
    );
  });

  test("an invalid field is refused as SseEvent refuses it: the stream ends after what came before, logged", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse("/bad", function* () {
      yield { id: "1", data: "before" };
      yield { event: "a\nb", data: "injected?" };
      yield { id: "3", data: "never" };
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/bad");
    assert.equal(await stream.text(), "id: 1\ndata: before\n\n");
    assert.ok(
      lines.some((line) =>
        /^SseEvent event must not contain CR or LF/.test(line.err?.message ?? ""),
      ),
      JSON.stringify(lines),
    );
  });
});
