// The defaults sluice/client documents (README, the issue), each checked at its default value
// and failing if it changed: the offline queue (100), the connect timeout (10 s), the call timeout (35 s), the dedupe
// window for resent publishes (2 min), and the reconnect backoff (500 ms doubling to 30 s,
// reset after 5 s up). Long timers are read from the delay they were armed with, or driven by
// a clock the test moves (Date.now, which the dedupe window reads).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { reconnectOptions } from "../src/client/backoff.js";
import { armedDelays } from "./support/armed-delays.js";
import { client, defaultClient, server } from "./support/script-peers.js";
import { waitFor, within } from "./support/wait.js";

describe("sluice/client defaults", () => {
  test("offline, 100 requests wait; the 101st rejects at once with unavailable", async () => {
    // Port 9 (discard) refuses: the client stays offline, retrying.
    const rt = defaultClient("ws://127.0.0.1:9/rt");
    const waiting = Array.from({ length: 100 }, (_, i) => rt.publish("t", i));
    for (const publish of waiting) publish.catch(() => {});
    await assert.rejects(rt.publish("t", 100), (error: Error & { code?: string }) => {
      assert.equal(error.code, "unavailable");
      assert.match(error.message, /offline queue is full \(100 waiting\)/);
      return true;
    });
    rt.close();
  });

  test("a connection attempt waits 10 s for the welcome", async () => {
    const peer = await server();
    let rt: ReturnType<typeof defaultClient> | undefined;
    const delays = await armedDelays("setTimeout", async () => {
      rt = defaultClient(peer.url);
      // The attempt starts after the token function (none here) has been awaited.
      await new Promise((resolve) => setImmediate(resolve));
    });
    assert.ok(delays.includes(10_000), `timers armed by the attempt: ${delays.join(", ")}`);
    await waitFor(() => rt?.state === "open", "open");
    rt?.close();
  });

  test("a call waits 35 s for its reply", async () => {
    const peer = await server();
    const rt = defaultClient(peer.url);
    await waitFor(() => rt.state === "open", "open");
    const delays = await armedDelays("setTimeout", () => {
      rt.call("hold", null).catch(() => {});
    });
    assert.ok(delays.includes(35_000), `timers armed by the call: ${delays.join(", ")}`);
    rt.close();
  });

  test("a publish whose reply was lost is resent within 2 minutes of its first send, not after", async (t) => {
    let clock = Date.now();
    t.mock.method(Date, "now", () => clock);
    for (const [elapsed, resent] of [
      [120_000 - 1_000, true],
      [120_000 + 1_000, false],
    ] as const) {
      const peer = await server();
      const rt = client(peer.url, { reconnect: { initialDelay: 20, maxDelay: 50 } });
      await waitFor(() => rt.state === "open", "open");
      peer.loseNextPublishReply = true; // stored, then the connection is cut before the reply
      const publish = rt.publish("t", "once");
      publish.catch(() => {});
      // Written at once (the connection is open), so stamped before the clock moves; moved
      // now, before the reconnect (20 ms or less away) can resend it: the outage lasted this.
      clock += elapsed;
      await waitFor(() => peer.framesOf("publish").length >= 1, "the first send");
      const outcome = await within(
        publish.then(
          () => "resolved",
          (error: Error & { code?: string }) => error.code,
        ),
        "the publish's outcome",
        5000,
      );
      assert.equal(outcome, resent ? "resolved" : "unavailable", `after ${elapsed} ms`);
      assert.equal(peer.framesOf("publish").length, resent ? 2 : 1);
      rt.close();
    }
  });

  test("reconnect: the first retries wait under 500 ms, 1 s, 2 s (full jitter), up to 30 s", async () => {
    const rt = defaultClient("ws://127.0.0.1:9/rt");
    const delays = await armedDelays("setTimeout", async () => {
      await waitFor(() => rt.state === "connecting", "connecting");
      await new Promise((resolve) => setTimeout(resolve, 1500));
    });
    rt.close();
    // The retry timers are the ones under 30 s that are neither the test's own 1 500 ms wait
    // nor each attempt's 10 s connect timeout.
    const retries = delays.filter((delay) => delay !== 1500 && delay !== 10_000 && delay < 30_000);
    assert.ok(retries.length >= 2, `retries armed: ${delays.join(", ")}`);
    retries.slice(0, 3).forEach((delay, attempt) => {
      assert.ok(delay < 500 * 2 ** attempt, `attempt ${attempt}: ${delay} ms`);
    });
    // The envelope those delays are drawn from, as connect() resolves it with no options.
    assert.deepEqual(reconnectOptions(undefined), {
      initialDelay: 500,
      maxDelay: 30_000,
      stableAfter: 5_000,
    });
  });
});
