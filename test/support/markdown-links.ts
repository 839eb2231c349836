// The links of a Markdown file and the anchors its headings get, as GitHub and npm render
// them: enough to tell a dead relative link from a live one.
import { posix } from "node:path";

export interface MarkdownLink {
  /** The target as written: `docs/guide.md#testing`, `https://...`, `#section`. */
  target: string;
  /** 1-based line of the link, for the failure message. */
  line: number;
}

/** A fence opens and closes a code block: ``` or ~~~, up to three spaces in. */
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * The lines that Markdown renders as text: fenced code blocks, inline code spans and HTML
 * comments are blanked (links inside them are not links), and line numbers are kept.
 */
function proseLines(markdown: string): string[] {
  const withoutComments = markdown.replace(/<!--[\s\S]*?-->/g, (comment) =>
    comment.replace(/[^\n]/g, " "),
  );
  let fence: string | undefined;
  return withoutComments.split("\n").map((line) => {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker?.[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return "";
    }
    if (marker) {
      fence = marker;
      return "";
    }
    return line.replace(/(`+)[\s\S]*?\1/g, (span) => " ".repeat(span.length));
  });
}

/** Inline links and images `[text](target "title")`, and reference definitions `[x]: target`. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  proseLines(markdown).forEach((text, index) => {
    for (const match of text.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: match[1].replace(/^<|>$/g, ""), line: index + 1 });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(text);
    if (definition) links.push({ target: definition[1].replace(/^<|>$/g, ""), line: index + 1 });
  });
  return links;
}

/** A link with a scheme (`https:`, `mailto:`) leaves the package: only relative ones are checked. */
export function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("//");
}

/**
 * The anchors of the file's headings, as GitHub makes them: the heading's text in lower case,
 * without its Markdown and punctuation, spaces turned into hyphens; a repeated one gets `-1`,
 * `-2`...
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = markdown.replace(/<!--[\s\S]*?-->/g, "").split("\n");
  let fence: string | undefined;
  for (const line of lines) {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker?.[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text stays, its target goes
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * The relative links of `pages` (Markdown files of the package) that open nothing in it: a
 * file or folder not in `files`, a path out of the package, or a `#anchor` that no heading of
 * the Markdown file it points to has. Each as `page:line: what is wrong`.
 */
export function deadLinks(
  pages: readonly string[],
  files: ReadonlySet<string>,
  read: (path: string) => string,
): string[] {
  const dead: string[] = [];
  for (const page of pages) {
    for (const { target, line } of markdownLinks(read(page))) {
      if (!isRelative(target)) continue;
      const problem = whatIsWrong(page, target, files, read);
      if (problem) dead.push(`${page}:${line}: ${target}: ${problem}`);
    }
  }
  return dead;
}

function whatIsWrong(
  page: string,
  target: string,
  files: ReadonlySet<string>,
  read: (path: string) => string,
): string | undefined {
  const hash = target.indexOf("#");
  const path = decodeURI(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === "" ? page : posix.normalize(posix.join(posix.dirname(page), path));
  if (file === ".." || file.startsWith("../")) return "points out of the package";
  const folder = file.replace(/\/$/, "");
  const isFile = files.has(file);
  if (!isFile && ![...files].some((packed) => packed.startsWith(`${folder}/`)))
    return `${file} is not in the package`;
  if (anchor === undefined || !isFile || !file.endsWith(".md")) return undefined;
  if (!headingAnchors(read(file)).has(anchor)) return `${file} has no heading for #${anchor}`;
  return undefined;
}
