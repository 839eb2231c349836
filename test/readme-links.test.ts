// What a user who installed the package reads: README.md and the Markdown shipped beside it
// (docs/, the examples). Every relative link in them must open a file that `npm pack` puts
// in the tarball, and every `#anchor` a heading, so that node_modules/sluice/ has no dead link.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { deadLinks, headingAnchors, isRelative, markdownLinks } from "./support/markdown-links.js";

/** The paths `npm pack` would put in the tarball (without running any script: it is fast). */
function packedFiles(): Set<string> {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
  return new Set(pack.files.map((file) => file.path));
}

const readFromDisk = (path: string) => readFileSync(path, "utf8");

describe("the packed package's README and docs", () => {
  const files = packedFiles();
  const pages = [...files].filter((path) => path.endsWith(".md")).sort();

  test("the tarball holds the README, the docs and the examples, and no tests", () => {
    for (const path of [
      "README.md",
      "docs/guide.md",
      "docs/security.md",
      "docs/architecture.md",
      "examples/guide/first-app.ts",
      "examples/live/main.ts",
      "examples/live/public/index.html",
    ]) {
      assert.ok(files.has(path), `${path} is in the tarball`);
    }
    const unwanted = [...files].filter((path) => /^(test|soak|scripts|\.ci)\//.test(path));
    assert.deepEqual(unwanted, [], "tests and tooling stay out of the tarball");
  });

  test("every relative link in the README and the shipped Markdown opens a file of the package", () => {
    const checked = pages.flatMap((page) =>
      markdownLinks(readFromDisk(page)).filter((link) => isRelative(link.target)),
    );
    assert.ok(
      checked.length >= 20,
      `only ${checked.length} relative links found: is the parser broken?`,
    );
    assert.deepEqual(deadLinks(pages, files, readFromDisk), []);
  });
});

describe("the link check itself", () => {
  const files = new Set(["README.md", "docs/guide.md", "examples/guide/first-app.ts"]);
  const pages: Record<string, string> = {
    "README.md": [
      "# sluice",
      "[guide](docs/guide.md), [its testing part](docs/guide.md#testing-your-app),",
      "[examples](examples/guide/), [a URL](https://example.com/x.md), [top](#sluice)",
      "[gone](docs/gone.md) and [no such part](docs/guide.md#nowhere) and [out](../x.md)",
      "`[in code](docs/code.md)` <!-- [in a comment](docs/comment.md) -->",
      "```md",
      "[in a block](docs/block.md)",
      "```",
      "[ref]: BENCHMARKS.md",
    ].join("\n"),
    "docs/guide.md": "# The guide\n\n## Testing your app\n\n[back](../README.md#sluice)\n",
  };
  const read = (path: string) => pages[path] ?? "";

  test("reports a missing file, a missing heading and a path out of the package, and only those", () => {
    assert.deepEqual(deadLinks(Object.keys(pages), files, read), [
      "README.md:4: docs/gone.md: docs/gone.md is not in the package",
      "README.md:4: docs/guide.md#nowhere: docs/guide.md has no heading for #nowhere",
      "README.md:4: ../x.md: points out of the package",
      "README.md:9: BENCHMARKS.md: BENCHMARKS.md is not in the package",
    ]);
  });

  test("headings get GitHub's anchors", () => {
    const anchors = headingAnchors(
      [
        "## The live demo (`npm start`)",
        "## Topics: one publish for SSE and WebSockets, with replay",
        "### Requests",
        "### Requests",
        "```",
        "# not a heading",
        "```",
      ].join("\n"),
    );
    assert.deepEqual(
      [...anchors],
      [
        "the-live-demo-npm-start",
        "topics-one-publish-for-sse-and-websockets-with-replay",
        "requests",
        "requests-1",
      ],
    );
  });
});
