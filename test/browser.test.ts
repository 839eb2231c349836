import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { createLiveApp } from "../examples/live/app.js";

/*
 * The demo page (examples/live/) in Chromium: what a person sees when they open it. The
 * browser is Debian's (`npm test` installs the `chromium` package through scripts/test-setup.sh); nothing is downloaded.
 * Screenshots land in artifacts/browser/ (not committed).
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

describe("the live demo in Chromium", () => {
  let live: ReturnType<typeof createLiveApp>;
  let url: string;
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (npm test does it as root on Debian: scripts/test-setup.sh) or set CHROMIUM_PATH`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    live = createLiveApp({ tickMs: TICK_MS, logger: false });
    url = (await live.app.listen({ port: 0, host: "127.0.0.1" })).url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });

  after(async () => {
    await browser?.close();
    live?.stop();
    await live?.app.close();
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

  test("the dashboard fills from SSE and keeps updating", async () => {
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

  test("after the server drops the SSE connection, the page reconnects and misses nothing", async () => {
    const { context, page } = await signedIn("grace");
    try {
      await waitForTicks(page, 3);
      const before = await tickSeqs(page);
      assert.ok(live.dropEventStreams() >= 1, "the page's stream was open");
      const lastBefore = before[before.length - 1];
      // Ticks keep being published while the page is away; the replay must bring them all.
      await page.waitForFunction(
        (seq) =>
          [...document.querySelectorAll("#ticks li")].some(
            (item) => Number(item.dataset.seq) >= seq,
          ),
        lastBefore + 10,
        { timeout: 15_000 },
      );
      assert.equal(await page.textContent("#dashboard-status"), "connected");
      const after = await tickSeqs(page);
      assertContiguous(after);
      assert.ok(after.includes(lastBefore) && after.includes(lastBefore + 1));
    } finally {
      await context.close();
    }
  });

  test("a chat message typed in one browser appears in another", async () => {
    const alice = await signedIn("alice");
    const bob = await signedIn("bob");
    try {
      for (const { page } of [alice, bob]) {
        // The rooms come from the server's hello: the list fills once the socket is open.
        await page.selectOption("#room", "kitchen");
        await page.click("#join");
        await page.waitForSelector("#chat-status:text-is('connected')");
      }
      await bob.page.waitForFunction(() => {
        const names = [...document.querySelectorAll("#presence li")].map((li) => li.textContent);
        return (
          names.some((name) => name?.includes("alice")) &&
          names.some((name) => name?.includes("bob"))
        );
      });
      await alice.page.fill("#message", "hello from alice");
      await alice.page.click("#send");
      await bob.page.waitForFunction(() =>
        [...document.querySelectorAll("#messages li")].some((li) =>
          li.textContent?.includes("alice: hello from alice"),
        ),
      );
      await bob.page.screenshot({ path: `${ARTIFACTS}/chat.png`, fullPage: true });
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test("without valid credentials, the WebSocket and the event stream are refused", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(url);
      const outcome = await page.evaluate(async () => {
        const socket = new WebSocket(`ws://${location.host}/ws/chat?room=lobby`);
        return await new Promise<string>((resolve) => {
          socket.onopen = () => resolve("opened");
          socket.onclose = (event) => resolve(`closed ${event.code}`);
        });
      });
      assert.equal(outcome, "closed 1006", "the upgrade is refused: no socket ever opens");
      const stream = await page.evaluate(async () => {
        const source = new EventSource("/api/dashboard");
        return await new Promise<string>((resolve) => {
          source.onopen = () => resolve("opened");
          // A 401 fails the EventSource for good: no reconnection (readyState 2, CLOSED).
          source.onerror = () => resolve(`error, readyState ${source.readyState}`);
        });
      });
      assert.equal(stream, "error, readyState 2");
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
