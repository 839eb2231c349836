// Topic patterns are matched without a RegExp (src/topics/segment-wildcards.ts): compiled to
// `[^:]+` per `*`, a segment with several `*`s, such as `doc:*-*-*-*`, made a client-chosen
// topic of a few hundred characters block the event loop for seconds (review of issue 22,
// finding 6). These tests pin the semantics to the old RegExp's, on a table and on seeded
// random inputs, and check that the adversarial inputs are answered at once, down to a real
// socket.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seededRandom } from "../soak/churn.js";
import type { App } from "../src/index.js";
import { matchesTopicPattern, TopicPatterns } from "../src/topics/topic-pattern.js";
import { quietApp } from "./support/apps.js";
import { signToken, testJwtAuth } from "./support/jwt-tokens.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { waitFor } from "./support/wait.js";

/** The old matcher, as the reference of the semantics: only ever given short inputs here. */
function referenceMatches(pattern: string, topic: string): boolean {
  const literals = pattern
    .split("*")
    .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${literals.join("[^:]+")}$`).test(topic);
}

/** What both entry points say: the function, and TopicPatterns holding the pattern alone. */
function matches(pattern: string, topic: string): boolean {
  const patterns = new TopicPatterns<true>();
  patterns.add(pattern, true);
  const viaPatterns = patterns.match(topic) === true;
  assert.equal(matchesTopicPattern(pattern, topic), viaPatterns, `${pattern} vs ${topic}`);
  return viaPatterns;
}

describe("topic patterns match as the old RegExp did", () => {
  const table: [pattern: string, topic: string, expected: boolean][] = [
    ["chat:*", "chat:lobby", true],
    ["chat:*", "chat:", false],
    ["chat:*", "chat:a:b", false],
    ["chat:*", "chat", false],
    ["chat:*", "chat:*", true],
    ["*:admin", "eu:admin", true],
    ["*:admin", ":admin", false],
    ["*", "a", true],
    ["*", "", false],
    ["*", "a:b", false],
    ["*:*", "a:b", true],
    ["*:*", "a:", false],
    ["*:*", ":b", false],
    ["a*", "a", false],
    ["a*", "ab", true],
    ["*a", "a", false],
    ["*a", "ba", true],
    ["a*a", "aa", false],
    ["a*a", "aba", true],
    ["a*a", "aaa", true],
    ["**", "a", false],
    ["**", "ab", true],
    ["a**b", "axb", false],
    ["a**b", "axyb", true],
    ["***", "ab", false],
    ["***", "abc", true],
    ["doc:*-*", "doc:a-b", true],
    ["doc:*-*", "doc:-b", false],
    ["doc:*-*", "doc:a-", false],
    ["doc:*-*", "doc:a--", true],
    ["doc:*-*", "doc:--", false],
    ["doc:*-*", "doc:---", true],
    ["doc:*-*-*-*", "doc:a-b-c-d", true],
    ["doc:*-*-*-*", "doc:a-b-c", false],
    ["doc:*-*-*-*", "doc:a-b:c-d", false],
    ["*ab*ab*", "xabab", false],
    ["*ab*ab*", "xabyabz", true],
    ["*aba*", "xabay", true],
    ["*aa*aa*", "xaaaay", false],
    ["*aa*aa*", "xaaaaay", true],
    ["*aa*aa*", "xaayaaz", true],
    ["a.b:*", "a.b:x", true],
    ["a.b:*", "aXb:x", false],
    ["(x)|y:*", "(x)|y:z", true],
    ["(x)|y:*", "x:z", false],
    ["$^[a]\\:*+?", "$^[a]\\:z+?", true],
    ["$^[a]\\:*+?", "a:z", false],
    ["a:*:b", "a:x:b", true],
    ["a:*:b", "a::b", false],
    ["a:*x*:b", "a:yxz:b", true],
    ["a:*x*:b", "a:x:b", false],
    ["::*", "::a", true],
    ["::*", ":a", false],
    ["*::", "a::", true],
  ];

  test("a table of patterns and topics, edge by edge", () => {
    for (const [pattern, topic, expected] of table) {
      assert.equal(referenceMatches(pattern, topic), expected, `reference: ${pattern} vs ${topic}`);
      assert.equal(matches(pattern, topic), expected, `${pattern} vs ${topic}`);
    }
  });

  test("seeded random patterns and topics, regex characters and `::` included", () => {
    const random = seededRandom(22);
    const pick = (chars: string) => chars[Math.floor(random() * chars.length)] ?? "";
    const text = (chars: string, max: number) =>
      Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(chars)).join("");
    const literal = "ab-:.+?^$()[]{}|\\";
    let matched = 0;
    let total = 0;
    for (let round = 0; round < 3000; round++) {
      const pattern = text(`${literal}***`, 8);
      // Topics near the pattern (each `*` replaced by 0 to 3 characters, `:` and `*` possible),
      // so that many match, and topics from nowhere.
      const near = pattern.replace(/\*/g, () => text(`ab-:*`, 3));
      for (const topic of [near, text(`${literal}*`, 8)]) {
        const expected = referenceMatches(pattern, topic);
        assert.equal(
          matches(pattern, topic),
          expected,
          `${JSON.stringify(pattern)} vs ${JSON.stringify(topic)}`,
        );
        total++;
        if (expected) matched++;
      }
    }
    // Both answers are common, so the comparison says something either way.
    assert.ok(matched > total / 10 && matched < total * 0.9, `${matched} of ${total} matched`);
  });

  test("TopicPatterns keeps its order: exact names first, then the first pattern added", () => {
    const patterns = new TopicPatterns<string>();
    patterns.add("doc:*-*", "two parts");
    patterns.add("doc:*", "any");
    patterns.add("doc:a-b", "exact");
    assert.equal(patterns.match("doc:a-b"), "exact");
    assert.equal(patterns.match("doc:x-y"), "two parts");
    assert.equal(patterns.match("doc:xy"), "any");
    assert.equal(patterns.match("doc:x:y"), undefined);
  });
});

/**
 * A complexity guard, not a speed benchmark: the old RegExp took seconds to hours on these
 * (O(n^k) for k `*`s in a segment); a linear-ish scan takes well under a millisecond, so the
 * bound is generous enough for a slow, busy machine and still far below the old times.
 */
const BOUND_MS = 200;

describe("adversarial topics are answered at once", () => {
  const dashes = "-".repeat(1024);
  const cases: [what: string, pattern: string, topic: string, expected: boolean][] = [
    ["four *s in a segment, a trailing ':'", "doc:*-*-*-*", `doc:${dashes}:`, false],
    ["four *s in a segment, a wrong last character", "doc:*-*-*-*x", `doc:${dashes}y`, false],
    ["four *s in a segment, wrong inside", "doc:*-*-*-*-x*", `doc:${dashes}`, false],
    ["four *s in a segment, matching", "doc:*-*-*-*", `doc:${dashes}`, true],
    ["*a*a*a*a*b on a's", "*a*a*a*a*b", "a".repeat(1024), false],
    ["*a*a*a*a*b on a's then b", "*a*a*a*a*b", `${"a".repeat(1024)}b`, true],
    ["a*b*c*d*e on dashes", "a*b*c*d*e", `a${dashes}:`, false],
    ["long literals that almost match", `*${"-".repeat(30)}x`.repeat(30), dashes, false],
    ["** in many segments", "**:".repeat(300).slice(0, -1), `${"ab:".repeat(299)}a`, false],
    [
      "** in many segments, matching",
      "**:".repeat(300).slice(0, -1),
      "ab:".repeat(300).slice(0, -1),
      true,
    ],
    ["many *s in a segment", "*-".repeat(200), `${dashes}x`, false],
  ];

  for (const [what, pattern, topic, expected] of cases) {
    test(what, () => {
      const started = performance.now();
      const result = matches(pattern, topic);
      const took = performance.now() - started;
      assert.equal(result, expected);
      assert.ok(took < BOUND_MS, `took ${took.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
    });
  }
});

describe("over a real socket, an adversarial topic does not stall the server", () => {
  // The longest topic the protocol takes (1 024 characters): dashes and a trailing ":".
  const adversarial = `doc:${"-".repeat(1019)}:`;
  let app: App;
  let url: string;

  before(async () => {
    app = quietApp();
    app.use(testJwtAuth({ topicsClaim: "topics" }));
    app.realtime("/rt", { subscribe: ["doc:*-*-*-*", "news"] });
    app.realtime("/claims", {});
    const listening = await app.listen({ port: 0, host: "127.0.0.1" });
    url = listening.url.replace(/^http/, "ws");
  });
  after(() => app.close());

  async function peer(path: string): Promise<RealtimePeer> {
    const { token } = await signToken({
      topics: { subscribe: ["doc:*-*-*-*", "news"] },
      exp: null,
    });
    const connected = await RealtimePeer.connect(`${url}${path}`, {
      protocols: ["sluice.v1", "bearer", token],
    });
    await waitFor(() => connected.frames.some((frame) => frame.type === "welcome"), "the welcome");
    return connected;
  }

  /** Sends the adversarial subscribe on one connection and an allowed one on another at once. */
  async function bothAnswered(path: string): Promise<void> {
    const [attacker, bystander] = [await peer(path), await peer(path)];
    let longestStall = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestStall = Math.max(longestStall, now - last);
      last = now;
    }, 5);
    try {
      const started = performance.now();
      const [refused, allowed] = await Promise.all([
        attacker.request({ type: "subscribe", topic: adversarial }),
        bystander.request({ type: "subscribe", topic: "news" }),
      ]);
      const took = performance.now() - started;
      assert.equal(refused.ok, false);
      assert.equal((refused as Frame & { error: { code: string } }).error.code, "forbidden");
      assert.equal(allowed.ok, true);
      assert.ok(took < 1000, `both replies took ${took.toFixed(0)} ms`);
      assert.ok(longestStall < 500, `the event loop stalled for ${longestStall.toFixed(0)} ms`);
    } finally {
      clearInterval(ticker);
      attacker.ws.close();
      bystander.ws.close();
    }
  }

  test("app.realtime's own subscribe list", () => bothAnswered("/rt"));
  test("jwtAuth's topicsClaim patterns", () => bothAnswered("/claims"));
});
