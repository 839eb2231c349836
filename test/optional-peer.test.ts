import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { importPeer } from "../src/util/optional-peer.js";

// The entry points load their optional peers this way (src/redis/ioredis-peer.ts,
// src/jwt/jose-peer.ts); test/packed-tarball.test.ts imports them without the peers installed.
describe("importPeer", () => {
  test("a package that is not installed becomes an error naming what to install, the original as cause", async () => {
    const name = "sluice-no-such-package";
    const error = await importPeer(name, "sluice/thing", () => import(name)).then(
      () => assert.fail("the import succeeded"),
      (caught: Error) => caught,
    );
    assert.equal(
      error.message,
      'sluice/thing needs the "sluice-no-such-package" package: npm install sluice-no-such-package',
    );
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ERR_MODULE_NOT_FOUND");
  });

  test("a package that is installed but fails to load keeps its own error", async () => {
    const broken = new Error("broken inside");
    await assert.rejects(
      importPeer("ioredis", "sluice/redis", () => Promise.reject(broken)),
      (error) => error === broken,
    );
    // Missing, but something else than the peer: not reported as the peer missing.
    const other = "sluice-another-missing-package";
    await assert.rejects(
      importPeer("ioredis", "sluice/redis", () => import(other)),
      (error: Error) =>
        error.message.includes(`'${other}'`) && !error.message.includes("npm install"),
    );
  });

  test("a package that loads is returned as it is", async () => {
    const path = await importPeer("node:path", "sluice/thing", () => import("node:path"));
    assert.equal(typeof path.join, "function");
  });
});
