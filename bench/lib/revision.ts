import { execFileSync } from "node:child_process";

/**
 * The commit a benchmark measures, and what in the working tree differs from it. Published
 * figures (BENCHMARKS.md, BENCHMARKS-REDIS.md) must come from a clean commit, so that anyone
 * can check them out and reproduce them.
 */
export interface BenchRevision {
  /** HEAD's abbreviated hash, or undefined outside a git work tree (or without git). */
  commit: string | undefined;
  /** Changed, staged or untracked (not ignored) paths, relative to the repository's root. */
  changed: string[];
}

/**
 * Reads `root`'s HEAD and `git status`. Paths in `ignore` (the files the benchmark itself
 * writes) do not count as changes: a run that rewrote BENCHMARKS.md is still a run of HEAD.
 */
export function benchRevision(root: string, ignore: readonly string[] = []): BenchRevision {
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  let commit: string;
  let status: string;
  try {
    commit = git("rev-parse", "--short", "HEAD").trim();
    // -z: paths are NUL-separated and never quoted; untracked files count (src/ may hold one
    // that the build compiles).
    status = git("status", "--porcelain", "-z", "--untracked-files=all");
  } catch {
    return { commit: undefined, changed: [] };
  }
  return { commit, changed: changedPaths(status).filter((path) => !ignore.includes(path)) };
}

/** The paths of `git status --porcelain -z`: "XY path", and a rename's source after its own NUL. */
function changedPaths(status: string): string[] {
  const entries = status.split("\0");
  const paths: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (entry.length < 4) continue;
    paths.push(entry.slice(3));
    if (entry[0] === "R" || entry[0] === "C") i++; // skip the rename's source
  }
  return paths;
}

/** Why figures measured at `revision` must not be published, or undefined when they may. */
export function unpublishableBecause(revision: BenchRevision): string | undefined {
  if (revision.commit === undefined) return "no git commit to name";
  if (revision.changed.length === 0) return undefined;
  const shown = revision.changed.slice(0, 5).join(", ");
  const more = revision.changed.length > 5 ? ` and ${revision.changed.length - 5} more` : "";
  return `uncommitted changes at ${revision.commit}: ${shown}${more}`;
}

/** How a report names what it measured: "@abc1234", or with a warning when it is not clean. */
export function describeRevision(revision: BenchRevision): string {
  if (revision.commit === undefined) return "(no git revision)";
  return revision.changed.length === 0
    ? `@${revision.commit}`
    : `@${revision.commit} + uncommitted changes (not published)`;
}

/** True when both name the same commit and the same changes. */
export function sameRevision(a: BenchRevision, b: BenchRevision): boolean {
  return a.commit === b.commit && a.changed.join("\0") === b.changed.join("\0");
}

/**
 * Why a run's figures must not be published now: the tree was not clean when it started
 * (`revision`), or changed during the run (the published files themselves aside).
 */
export function unpublishableAfterRun(
  revision: BenchRevision,
  root: string,
  published: readonly string[],
): string | undefined {
  return (
    unpublishableBecause(revision) ??
    (sameRevision(revision, benchRevision(root, published))
      ? undefined
      : "the tree changed during the run")
  );
}
