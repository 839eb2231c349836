// The Redis broker's side of live-only messages, piece by piece: the pub/sub wire carries a
// live-only mark (an empty id), `except` and presence unambiguously, and a topic catching up
// from its log (LiveTopic) delivers a live-only message once, in arrival order with the held
// stored ones, without moving its last id or taking it for a repeat. The end-to-end paths
// (two instances on a real Redis) are in topic-live-only.test.ts and topic-except.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LiveTopic } from "../src/redis/live-topic.js";
import { decodeWire, wireLines } from "../src/redis/publish-script.js";
import type { StoredMessage } from "../src/topics/broker.js";

/** The wire as the script (stored) or RedisBroker (live-only, id "") publishes it. */
function wire(
  id: string,
  event: string | undefined,
  json: string,
  except?: string,
  presence?: "join" | "leave",
): string {
  return `${id}\n${wireLines(event, except, presence)}\n${json}`;
}

describe("the pub/sub wire", () => {
  test("round-trips id, event, json, except and presence, and only what was given", () => {
    const cases: StoredMessage[] = [
      { topic: "t", id: "1-1", event: undefined, json: '"plain"' },
      { topic: "t", id: "1-2", event: "edit", json: '{"a":"\\n"}' },
      { topic: "t", id: "1-3", event: "", json: "1" },
      { topic: "t", id: "1-4", event: undefined, json: "2", except: "client-9" },
      { topic: "t", id: "", event: undefined, json: '"typing"' },
      { topic: "t", id: "", event: "cursor", json: "[1,2]", except: "c" },
      { topic: "t", id: "", event: "join", json: '{"clientId":"c"}', presence: "join" },
      { topic: "t", id: "", event: undefined, json: "{}", except: "+x", presence: "leave" },
      // JSON that itself starts with the marks of the optional lines.
      { topic: "t", id: "", event: undefined, json: '"!?+"\n' },
    ];
    for (const message of cases) {
      const text = wire(message.id, message.event, message.json, message.except, message.presence);
      assert.deepEqual(decodeWire("t", text), message, JSON.stringify(text));
    }
    assert.equal(wire("1-1", undefined, "1"), "1-1\n\n1", "a plain stored message as before");
  });

  test("what sluice did not write is refused (undefined), not misread", () => {
    for (const text of [
      "",
      "no newline",
      "1-1\n",
      "1-1\nevent-without-plus\n1",
      "1-1\n?join\n\n{}",
    ]) {
      assert.equal(decodeWire("t", text), undefined, JSON.stringify(text));
    }
  });
});

describe("LiveTopic and live-only messages", () => {
  const stored = (n: number): StoredMessage => ({
    topic: "t",
    id: `5-${n}`,
    event: undefined,
    json: String(n),
  });
  const liveOnly = (text: string): StoredMessage => ({
    topic: "t",
    id: "",
    event: undefined,
    json: JSON.stringify(text),
  });

  function topicDelivering(holdLimit = 100): { topic: LiveTopic; got: string[] } {
    const topic = new LiveTopic("t", "k", holdLimit, (error) => {
      throw error;
    });
    const got: string[] = [];
    topic.deliverers.add({ deliver: (message) => got.push(message.json) });
    return { topic, got };
  }

  test("live: delivered as they come, never moving the last id nor dropped as not after it", () => {
    const { topic, got } = topicDelivering();
    topic.lastId = "5-0";
    topic.goLive([]);
    topic.receive(stored(1));
    topic.receive(liveOnly("a"));
    topic.receive(liveOnly("a"));
    assert.equal(topic.lastId, "5-1");
    topic.receive(stored(1)); // a repeat: dropped
    topic.receive(stored(2));
    assert.deepEqual(got, ["1", '"a"', '"a"', "2"]);
  });

  test("catching up: held in arrival order with the stored ones; the log's overlap is dropped, not they", () => {
    const { topic, got } = topicDelivering();
    topic.lastId = "5-1";
    topic.hold();
    topic.receive(stored(3));
    topic.receive(liveOnly("x"));
    topic.receive(stored(4));
    assert.deepEqual(got, [], "nothing before the log is read");
    // The log gives 2 and 3 (3 came live too).
    topic.goLive([stored(2), stored(3)]);
    assert.deepEqual(got, ["2", "3", '"x"', "4"]);
    assert.equal(topic.lastId, "5-4");
  });

  test("a hold past its bound delivers a live-only message (no log has it) rather than dropping it", () => {
    const { topic, got } = topicDelivering(2);
    topic.lastId = "5-0";
    topic.hold();
    topic.receive(liveOnly("early"));
    topic.receive(stored(1));
    topic.receive(stored(2)); // the hold is full: "early" leaves it, delivered now
    topic.receive(stored(3)); // stored 1 leaves it: the log brings it back
    assert.deepEqual(got, ['"early"']);
    topic.goLive([stored(1), stored(2), stored(3)]);
    assert.deepEqual(got, ['"early"', "1", "2", "3"]);
  });
});
