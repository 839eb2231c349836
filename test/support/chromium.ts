// Chromium for browser tests, driven by playwright-core: Debian's chromium package at
// /usr/bin/chromium, or the binary $CHROMIUM_PATH names. A missing browser fails the test with
// how to get one, rather than skipping it silently.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Launches headless Chromium with `args` added to the ones every test needs. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", ...args] });
}
