import assert from "node:assert/strict";
import { after, before } from "node:test";

/**
 * Notes every uncaught exception and unhandled rejection while the file's tests run, and fails
 * the file at the end if there was any. Returns the list, for tests that check it on the way.
 */
export function watchCrashes(): readonly unknown[] {
  const crashes: unknown[] = [];
  const noteCrash = (error: unknown) => crashes.push(error);
  before(() => {
    process.on("uncaughtException", noteCrash);
    process.on("unhandledRejection", noteCrash);
  });
  after(() => {
    process.off("uncaughtException", noteCrash);
    process.off("unhandledRejection", noteCrash);
    assert.deepEqual(crashes, [], "the process stayed up: nothing uncaught");
  });
  return crashes;
}
