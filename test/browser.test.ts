import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { createLiveApp } from "../examples/live/app.js";
import { type ChatMessage, roomTopic } from "../examples/live/chat.js";
import { App, memoryBroker } from "../src/index.js";
import { sleep } from "./support/wait.js";

/*
 * The demo page (examples/live/) in Chromium: what a person sees when they open it. The
 * browser is Debian's (`npm test` installs the `chromium` package through scripts/test-setup.sh); nothing is downloaded.
 * Screenshots land in artifacts/browser/ (not committed).
 *
 * The page's dashboard and chat run on sluice/client over one real-time connection. The
 * broker outlives the app (another App holds it), so the app can be restarted on the same
 * port, as a deploy restarts a server, with the topics' logs kept.
 */
// The page's globals, typed just enough for the callbacks that run inside Chromium (the
// project's tsconfig has Node's types, not the DOM's).
interface PageElement {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
};
declare const location: { host: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = "artifacts/browser";
const TICK_MS = 100;
const SECRET = "browser-test-secret-0123456789";

describe("the live demo in Chromium", () => {
  const broker = memoryBroker();
  /** Holds the broker across restarts, and publishes as another server would. */
  const elsewhere = new App({ broker, logger: false });
  let live: ReturnType<typeof createLiveApp>;
  let url: string;
  let port: number;
  let browser: Browser;

  async function startApp(): Promise<void> {
    live = createLiveApp({ tickMs: TICK_MS, logger: false, broker, secret: SECRET });
    const server = await live.app.listen({ port, host: "127.0.0.1" });
    url = server.url;
    port = server.port;
  }

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (npm test does it as root on Debian: scripts/test-setup.sh) or set CHROMIUM_PATH`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    port = 0;
    await startApp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });

  after(async () => {
    await browser?.close();
    live?.stop();
    await live?.app.close();
    await elsewhere.close();
  });

  /** A new visitor (own cookie jar), signed in as `name`. */
  async function signedIn(name: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.fill("#name", name);
    await page.click("#signin-button");
    await page.waitForFunction(
      (expected) => document.querySelector("#whoami")?.textContent?.includes(expected),
      name,
    );
    return { context, page };
  }

  function tickSeqs(page: Page): Promise<number[]> {
    return page.$$eval("#ticks li", (items) =>
      items.map((item) => Number((item as unknown as PageElement).dataset.seq)),
    );
  }

  async function waitForTicks(page: Page, atLeast: number): Promise<void> {
    await page.waitForFunction(
      (count) => document.querySelectorAll("#ticks li").length >= count,
      atLeast,
      { timeout: 10_000 },
    );
  }

  function assertContiguous(seqs: number[]): void {
    assert.ok(seqs.every(Number.isInteger), `tick numbers: ${seqs.join(", ")}`);
    for (let i = 1; i < seqs.length; i++) {
      assert.equal(seqs[i], seqs[i - 1] + 1, `ticks without a gap: ${seqs.join(", ")}`);
    }
  }

  test("the dashboard fills from its topic and keeps updating", async () => {
    const { context, page } = await signedIn("ada");
    try {
      await page.waitForSelector("#dashboard-status:text-is('connected')");
      await waitForTicks(page, 3);
      const firstTick = await page.textContent("#metric-tick");
      await waitForTicks(page, 6);
      assert.notEqual(await page.textContent("#metric-tick"), firstTick);
      const clients = Number(await page.textContent("#metric-clients"));
      assert.ok(clients >= 1, `connected clients shown: ${clients}`);
      assertContiguous(await tickSeqs(page));
      await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  /** Enters `room` in the page's chat and waits until the connection is up. */
  async function enterRoom(page: Page, room: string): Promise<void> {
    await page.waitForSelector(`#room option:text-is('${room}')`, { state: "attached" }); // rooms answered
    await page.selectOption("#room", room);
    await page.click("#join");
    await page.waitForSelector("#chat-status:text-is('connected')");
  }

  /** The chat messages the page shows: [id, "name: text"]. */
  function shownMessages(page: Page): Promise<[string, string][]> {
    return page.$$eval("#messages li", (items) =>
      items.map((item) => {
        const element = item as unknown as PageElement;
        return [element.dataset.id ?? "", element.textContent ?? ""] as [string, string];
      }),
    );
  }

  /** Waits until the page shows `text` in the chat. */
  async function waitForMessage(page: Page, text: string): Promise<void> {
    await page.waitForFunction(
      (expected) =>
        [...document.querySelectorAll("#messages li")].some((li) => li.textContent === expected),
      text,
      { timeout: 20_000 },
    );
  }

  /** The page shows the room's whole log, in order, each message once. */
  async function assertShowsRoom(page: Page, room: string): Promise<void> {
    const stored = await live.app.history(roomTopic(room), { limit: 200 });
    const expected = stored.map((message) => {
      const data = message.data as ChatMessage;
      return [message.id, `${data.name}: ${data.text}`];
    });
    assert.deepEqual(await shownMessages(page), expected);
  }

  /** Publishes `count` messages to `room` as a server beside this one would, `gapMs` apart. */
  async function publishAlong(room: string, count: number, gapMs: number, tag: string) {
    for (let i = 1; i <= count; i++) {
      await elsewhere.publish(
        roomTopic(room),
        { name: "bot", text: `${tag} ${i}` },
        {
          event: "message",
        },
      );
      await sleep(gapMs);
    }
  }

  test("when the server drops the connection, the page comes back and shows every tick and message once", async () => {
    const { context, page } = await signedIn("grace");
    try {
      await enterRoom(page, "garden");
      await waitForTicks(page, 3);
      const lastBefore = (await tickSeqs(page)).at(-1) ?? 0;
      // Messages keep coming before, during and after the cut: the page must show each once.
      const publishing = publishAlong("garden", 30, 30, "along");
      await sleep(300);
      assert.ok(live.dropSockets() >= 1, "the page's socket was open");
      await sleep(100);
      live.dropSockets(); // again, perhaps while it resumes

      await publishing;
      await waitForMessage(page, "bot: along 30");
      await page.waitForFunction(
        (seq) =>
          [...document.querySelectorAll("#ticks li")].some(
            (item) => Number(item.dataset.seq) >= seq,
          ),
        lastBefore + 15,
        { timeout: 15_000 },
      );
      assert.equal(await page.textContent("#chat-status"), "connected");
      const seqs = await tickSeqs(page);
      assertContiguous(seqs);
      assert.ok(seqs.includes(lastBefore) && seqs.includes(lastBefore + 1));
      await assertShowsRoom(page, "garden");
    } finally {
      await context.close();
    }
  });

  test("across a server restart, the page resumes, and what it sent meanwhile is stored once", async () => {
    const { context, page } = await signedIn("hedy");
    try {
      await enterRoom(page, "studio");
      await waitForTicks(page, 3);
      await page.fill("#message", "before the restart");
      await page.click("#send");
      await waitForMessage(page, "hedy: before the restart");

      live.stop();
      await live.app.close(); // closes the page's socket with 1001: it will reconnect
      await page.waitForSelector("#chat-status:text-is('reconnecting')");
      // While the server is down: others' messages reach the broker, and the page's own wait
      // in its client's queue.
      await publishAlong("studio", 5, 20, "while down");
      await page.fill("#message", "typed while down");
      await page.click("#send");
      await sleep(300);
      await startApp(); // the same port, the same broker: a restarted server

      await waitForMessage(page, "hedy: typed while down");
      await waitForMessage(page, "bot: while down 5");
      await page.waitForSelector("#chat-status:text-is('connected')");
      await publishAlong("studio", 3, 20, "after");
      await waitForMessage(page, "bot: after 3");
      await assertShowsRoom(page, "studio");
      const seqs = await tickSeqs(page);
      assertContiguous(seqs);
      await waitForTicks(page, seqs.length + 3); // the new server's ticks follow on
      assertContiguous(await tickSeqs(page));
    } finally {
      await context.close();
    }
  });

  test("a chat message typed in one browser appears in another", async () => {
    const alice = await signedIn("alice");
    const bob = await signedIn("bob");
    try {
      // The rooms come from the server's rooms method: the list fills once the socket is open.
      for (const { page } of [alice, bob]) await enterRoom(page, "kitchen");
      for (const { page } of [alice, bob]) await waitForPeople(page, ["alice", "bob"]);
      await alice.page.fill("#message", "hello from alice");
      await alice.page.click("#send");
      await waitForMessage(bob.page, "alice: hello from alice");
      await waitForMessage(alice.page, "alice: hello from alice");
      for (const { page } of [alice, bob]) await assertShowsRoom(page, "kitchen");
      await bob.page.screenshot({ path: `${ARTIFACTS}/chat.png`, fullPage: true });
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  /** The names the page lists in its room's "Here now". */
  function shownPeople(page: Page): Promise<string[]> {
    return page.$$eval("#presence li", (items) =>
      items.map((item) => (item as unknown as PageElement).textContent ?? ""),
    );
  }

  /** Waits until the page lists exactly `names` (sorted) as in its room. */
  async function waitForPeople(page: Page, names: string[]): Promise<void> {
    const expected = JSON.stringify(names);
    await page
      .waitForFunction(
        (json) =>
          JSON.stringify(
            [...document.querySelectorAll("#presence li")].map((li) => li.textContent),
          ) === json,
        expected,
        { timeout: 10_000 },
      )
      .catch(async (error: unknown) => {
        throw new Error(
          `expected ${expected} in the room, shown: ${JSON.stringify(await shownPeople(page))}`,
          {
            cause: error,
          },
        );
      });
  }

  test("the room lists who is in it (two tabs once), a closed tab leaves, and typing notices are live only", async () => {
    const ada = await signedIn("ada");
    const bob = await signedIn("bob");
    const adaTab2 = await ada.context.newPage(); // the same cookie: ada's second tab
    let newcomer: { context: BrowserContext; page: Page } | undefined;
    try {
      await adaTab2.goto(url);
      await adaTab2.waitForFunction(() => document.querySelector("#whoami")?.textContent === "ada");
      for (const page of [ada.page, bob.page, adaTab2]) await enterRoom(page, "library");
      for (const page of [ada.page, bob.page, adaTab2]) await waitForPeople(page, ["ada", "bob"]);
      assert.equal((await live.app.presence("room:library")).length, 3, "three connections");

      // Typing in one tab: shown to bob, not in ada's tabs, gone once the message is sent.
      await ada.page.fill("#message", "hello");
      await bob.page.waitForSelector("#typing:text-is('ada is typing…')");
      assert.equal(await ada.page.textContent("#typing"), "", "not to its sender");
      assert.equal(await adaTab2.textContent("#typing"), "", "nor to its other tab");
      await ada.page.press("#message", "Enter");
      await waitForMessage(bob.page, "ada: hello");
      assert.equal(await bob.page.textContent("#typing"), "", "a message ends its notice");
      const stored = await live.app.history(roomTopic("library"));
      assert.deepEqual(
        stored.map((message) => message.data),
        [{ name: "ada", text: "hello" }],
        "the notice is not in the room's history",
      );
      newcomer = await signedIn("cy");
      await enterRoom(newcomer.page, "library");
      await waitForMessage(newcomer.page, "ada: hello");
      await waitForPeople(newcomer.page, ["ada", "bob", "cy"]);
      await sleep(200);
      assert.equal(await newcomer.page.textContent("#typing"), "", "no notice replayed");
      await assertShowsRoom(newcomer.page, "library");

      await adaTab2.close(); // one of ada's two tabs: she is still there
      while ((await live.app.presence("room:library")).length > 3) await sleep(20);
      await waitForPeople(bob.page, ["ada", "bob", "cy"]);
      await ada.context.close();
      await waitForPeople(bob.page, ["bob", "cy"]);
      await waitForPeople(newcomer.page, ["bob", "cy"]);
      await bob.page.screenshot({ path: `${ARTIFACTS}/presence.png`, fullPage: true });
    } finally {
      await ada.context.close();
      await bob.context.close();
      await newcomer?.context.close();
    }
  });

  test("without valid credentials, the real-time endpoint and the event streams are refused", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(url);
      const outcome = await page.evaluate(async () => {
        const socket = new WebSocket(`ws://${location.host}/rt`, ["sluice.v1"]);
        return await new Promise<string>((resolve) => {
          socket.onmessage = (event) => resolve(`message ${String(event.data).slice(0, 40)}`);
          socket.onclose = (event) => resolve(`closed ${event.code} ${event.reason}`);
        });
      });
      // The handshake completes and the close says why (a browser cannot read the status of a
      // refused handshake): 4000 + 401, which the client takes as "do not retry".
      assert.match(outcome, /^closed 4401 Sign in first/);
      for (const path of ["/api/dashboard", "/rt?topic=dashboard"]) {
        const stream = await page.evaluate(async (path) => {
          const source = new EventSource(path);
          return await new Promise<string>((resolve) => {
            source.onopen = () => resolve("opened");
            // A 401 fails the EventSource for good: no reconnection (readyState 2, CLOSED).
            source.onerror = () => resolve(`error, readyState ${source.readyState}`);
          });
        }, path);
        assert.equal(stream, "error, readyState 2", path);
      }
      const me = await page.evaluate(async () => (await fetch("/api/me")).status);
      assert.equal(me, 401);
      await context.addCookies([{ name: "sluice_session", value: "forged.signature", url }]);
      const forged = await page.evaluate(async () => (await fetch("/api/me")).status);
      assert.equal(forged, 401);
    } finally {
      await context.close();
    }
  });
});
