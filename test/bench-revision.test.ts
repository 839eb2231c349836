/*
 * The benchmarks publish figures only from a clean commit (bench/lib/revision.ts): checked
 * against a throwaway git repository.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  benchRevision,
  describeRevision,
  sameRevision,
  unpublishableBecause,
} from "../bench/lib/revision.js";

function tempRepo(): { dir: string; git: (...args: string[]) => string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-revision-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], {
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.invalid",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.invalid",
      },
    });
  git("init", "-q");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "a.ts"), "export const a = 1;\n");
  writeFileSync(join(dir, "BENCHMARKS.md"), "# old figures\n");
  writeFileSync(join(dir, ".gitignore"), "dist/\n");
  git("add", ".");
  git("commit", "-q", "-m", "first");
  return { dir, git, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("benchRevision: figures are published only from a clean commit", () => {
  test("a clean checkout names its commit and may publish", () => {
    using repo = tempRepo();
    const revision = benchRevision(repo.dir, ["BENCHMARKS.md"]);
    const head = repo.git("rev-parse", "--short", "HEAD").trim();
    assert.deepEqual(revision, { commit: head, changed: [] });
    assert.equal(unpublishableBecause(revision), undefined);
    assert.equal(describeRevision(revision), `@${head}`);
  });

  test("a modified, a staged, an untracked or a renamed file makes it unpublishable; ignored files and the benchmark's own output do not", () => {
    using repo = tempRepo();
    mkdirSync(join(repo.dir, "dist"));
    writeFileSync(join(repo.dir, "dist", "a.js"), "built\n");
    writeFileSync(join(repo.dir, "BENCHMARKS.md"), "# new figures\n");
    assert.deepEqual(benchRevision(repo.dir, ["BENCHMARKS.md"]).changed, []);

    writeFileSync(join(repo.dir, "src", "a.ts"), "export const a = 2;\n");
    writeFileSync(join(repo.dir, "src", "new file.ts"), "export {};\n");
    const revision = benchRevision(repo.dir, ["BENCHMARKS.md"]);
    assert.deepEqual(revision.changed.toSorted(), ["src/a.ts", "src/new file.ts"]);
    assert.match(unpublishableBecause(revision) ?? "", /uncommitted changes at \w+: src\//);
    assert.match(describeRevision(revision), /^@\w+ \+ uncommitted changes \(not published\)$/);

    repo.git("checkout", "-q", "--", "src/a.ts");
    repo.git("add", "src/new file.ts");
    assert.deepEqual(benchRevision(repo.dir, ["BENCHMARKS.md"]).changed, ["src/new file.ts"]);
    repo.git("commit", "-q", "-m", "second");
    repo.git("mv", "src/a.ts", "src/b.ts");
    assert.deepEqual(benchRevision(repo.dir, ["BENCHMARKS.md"]).changed, ["src/b.ts"]);
  });

  test("a commit or an edit between two readings is seen", () => {
    using repo = tempRepo();
    const before = benchRevision(repo.dir);
    assert.ok(sameRevision(before, benchRevision(repo.dir)));
    writeFileSync(join(repo.dir, "src", "a.ts"), "export const a = 3;\n");
    assert.equal(sameRevision(before, benchRevision(repo.dir)), false);
    repo.git("commit", "-q", "-am", "third");
    const after = benchRevision(repo.dir);
    assert.deepEqual(after.changed, []);
    assert.notEqual(after.commit, before.commit);
    assert.equal(sameRevision(before, after), false);
  });

  test("outside a git work tree there is no commit to name, and nothing is published", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-bench-norepo-"));
    try {
      const revision = benchRevision(dir);
      assert.equal(revision.commit, undefined);
      assert.equal(unpublishableBecause(revision), "no git commit to name");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
