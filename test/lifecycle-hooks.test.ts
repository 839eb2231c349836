import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, type ListeningServer } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { sleep, within } from "./support/wait.js";

describe("app.onListen(hook)", () => {
  test("hooks run in order once the server listens, with what listen() resolves to, before it resolves", async () => {
    const app = quietApp();
    app.get("/ping", () => "pong");
    const calls: string[] = [];
    app.onListen(async (listening) => {
      // The server takes requests already.
      calls.push(`first ${await (await fetch(`${listening.url}/ping`)).text()}`);
    });
    app.onListen(async () => {
      await sleep(20);
      calls.push("second");
    });
    await app.listen({ port: 0 });
    assert.deepEqual(calls, ["first pong", "second"]);
    await app.close();
  });

  test("a hook that throws makes listen() reject with its error, and the app is closed", async (t) => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    t.after(() => app.close()); // should this test fail, no server is left open
    let url = "";
    const closed: string[] = [];
    app.onListen((listening) => {
      url = listening.url;
      throw new Error("the cache could not be warmed");
    });
    app.onListen(() => closed.push("a later onListen hook ran"));
    app.onClose(() => closed.push("onClose"));
    await assert.rejects(app.listen({ port: 0 }), { message: "the cache could not be warmed" });
    assert.notEqual(url, "");
    await assert.rejects(fetch(url), TypeError, "the server no longer accepts connections");
    assert.deepEqual(closed, ["onClose"]);
    assert.ok(lines.some((line) => line.msg === "closed"));
  });

  test("a close during a slow onListen hook waits for it, so onClose stops what it started; later onListen hooks do not run", async () => {
    const app = quietApp();
    let timer: NodeJS.Timeout | undefined;
    const calls: string[] = [];
    app.onListen(async () => {
      await sleep(100); // say, a database connection
      timer = setInterval(() => {}, 1000).unref(); // a regression fails, never hangs
      calls.push("timer started");
    });
    app.onListen(() => {
      calls.push("a later onListen hook ran");
    });
    app.onClose(() => {
      calls.push(`onClose saw ${timer ? "the timer" : "no timer"}`);
      clearInterval(timer);
    });
    const listening = app.listen({ port: 0 });
    // Closed as soon as the server listens, while the first hook is still awaiting.
    const listeningDone = listening.then(
      () => "resolved",
      (error: Error) => error.message,
    );
    await within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (app.server?.listening) {
            clearInterval(poll);
            resolve();
          }
        }, 2);
      }),
      "the server listening",
    );
    await app.close();
    assert.deepEqual(calls, ["timer started", "onClose saw the timer"]);
    assert.equal(await listeningDone, "The app was closed while it was starting to listen");
  });

  test("hooks are checked when added; onListen after listen() is an error, not a hook that never runs", async () => {
    const app = quietApp();
    assert.throws(() => app.onListen("warm up" as never), {
      name: "TypeError",
      message: "app.onListen() takes a function",
    });
    assert.throws(() => app.onClose(undefined as never), {
      name: "TypeError",
      message: "app.onClose() takes a function",
    });
    await app.listen({ port: 0 });
    assert.throws(() => app.onListen(() => {}), {
      message: "app.onListen() was called after listen(): register the hook before",
    });
    await app.close();
    assert.throws(() => app.onClose(() => {}), {
      message: "app.onClose() was called after close(): register the hook before",
    });
  });
});

describe("app.onClose(hook)", () => {
  test("stops a user's setInterval publisher: after the streams ended, before the broker closed", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    app.sse("/ticks", (req) => app.subscribe("ticks", { signal: req.signal }));
    let timer: NodeJS.Timeout | undefined;
    let published = 0;
    const failures: unknown[] = [];
    const seenByHook: { sse?: number; lastPublish?: string } = {};
    app.onListen(() => {
      timer = setInterval(() => {
        app.publish("ticks", { n: ++published }).catch((error) => failures.push(error));
      }, 5).unref(); // should the hook not stop it, the test fails instead of hanging
    });
    app.onClose(async () => {
      clearInterval(timer);
      seenByHook.sse = app.connections.sse;
      // The broker is still open: a last message can go out.
      seenByHook.lastPublish = await app.publish("ticks", { last: true });
    });

    const client = await TestClient.start(app);
    const events = client.events("/ticks");
    assert.equal((await events.take(3)).length, 3);
    await within(app.close(), "the close");
    const publishedAtClose = published;
    await sleep(50);

    assert.equal(published, publishedAtClose, "the interval no longer runs");
    assert.deepEqual(failures, [], "no publish went to a closed broker");
    assert.equal(seenByHook.sse, 0, "the SSE stream had ended when the hook ran");
    assert.equal(typeof seenByHook.lastPublish, "string");
    assert.deepEqual(errorLines(lines), []);
    await client.close();
  });

  test("hooks run in reverse order; one that throws or rejects is logged and the others still run", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    const ran: string[] = [];
    app.onClose(() => {
      ran.push("pool");
    });
    app.onClose(async () => {
      ran.push("rejects");
      throw new Error("flush failed");
    });
    app.onClose(() => {
      ran.push("throws");
      throw new Error("stop failed");
    });
    app.onClose(() => {
      ran.push("publisher");
    });
    await app.listen({ port: 0 });
    await app.close();
    assert.deepEqual(ran, ["publisher", "throws", "rejects", "pool"]);
    const failed = lines.filter((line) => line.msg === "an onClose hook failed; the close goes on");
    assert.deepEqual(
      failed.map((line) => [line.level, line.err?.message]),
      [
        [50, "stop failed"],
        [50, "flush failed"],
      ],
    );
  });

  test("a hook that never settles holds the close no longer than its timeout; the hooks after it are still called", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    let poolClosed = false;
    app.onClose(() => {
      poolClosed = true;
    });
    app.onClose(function neverSettles() {
      return new Promise(() => {});
    });
    await app.listen({ port: 0 });
    const started = performance.now();
    await within(app.close({ timeout: 200 }), "the close", 3000);
    assert.ok(performance.now() - started < 1500, "bounded by the timeout");
    assert.equal(poolClosed, true);
    const warning = lines.find((line) => line.hook === "neverSettles");
    assert.equal(warning?.level, 40);
    assert.match(String(warning?.msg), /still running when the close timeout passed/);
  });

  test("an app that never listened runs its hooks on close() too", async () => {
    const app = quietApp();
    let stopped = false;
    app.onClose(() => {
      stopped = true;
    });
    await app.close();
    assert.equal(stopped, true);
  });

  test("listen() gives the hooks the same object it resolves to", async () => {
    const app = quietApp();
    let given: ListeningServer | undefined;
    app.onListen((listening) => {
      given = listening;
    });
    const listening = await app.listen({ port: 0 });
    assert.equal(given, listening);
    await app.close();
  });
});
