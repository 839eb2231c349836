// Checks the architecture of src/ (docs/architecture.md): every folder imports only from
// folders below it, and no files import each other in a cycle (type-only imports included).
// Run: `npx tsx scripts/check-layers.ts` (npm test runs it). Exits 1 and names each breach.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Folders of src/, bottom first: a folder may import from a lower rank, never a higher or equal one. */
export const LAYERS: Record<string, number> = {
  util: 0,
  protocol: 0, // the real-time protocol's frames: types and constants, imports nothing
  client: 1, // sluice/client: runs in browsers, imports only protocol
  http: 1,
  server: 2,
  stream: 3,
  sse: 4,
  websocket: 4,
  topics: 5,
  middleware: 6,
  redis: 6,
  jwt: 7,
  realtime: 7, // app.realtime(): the protocol's server side
  "api-docs": 8, // app.openapi() and app.asyncapi(): documents written from the declarations
  app: 9,
  testing: 10,
  hub: 10, // sluice hub: the standalone server (bin), built on the App
  ".": 11, // src/index.ts: re-exports only
};

/** `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`. */
const SPECIFIER =
  /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g;

export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (path.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** The src/ files a file imports (relative specifiers only; `.js` names the `.ts` file). */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const targets: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2];
    if (!specifier.startsWith(".")) continue;
    targets.push(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
  }
  return targets;
}

function folderOf(src: string, file: string): string {
  const parts = relative(src, file).split("/");
  return parts.length === 1 ? "." : parts[0];
}

export function layerBreaches(src: string, graph: Map<string, string[]>): string[] {
  const breaches: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(src, file);
    for (const target of targets) {
      const to = folderOf(src, target);
      if (from === to) continue;
      const fromRank = LAYERS[from];
      const toRank = LAYERS[to];
      if (fromRank === undefined || toRank === undefined) {
        breaches.push(
          `${relative(src, file)}: folder "${fromRank === undefined ? from : to}" has no layer in LAYERS`,
        );
      } else if (toRank >= fromRank) {
        breaches.push(
          `${relative(src, file)} (${from}) imports ${relative(src, target)} (${to}), which is not below it`,
        );
      }
    }
  }
  return breaches;
}

/** Every cycle of imports, each once, as the files along it. */
export function importCycles(src: string, graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "visiting");
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === "visiting") {
        cycles.push([...stack.slice(stack.indexOf(target)), target].map((f) => relative(src, f)));
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

function main(): void {
  const src = resolve(process.argv[2] ?? "src");
  const graph = new Map(sourceFiles(src).map((file) => [file, importsOf(file)]));
  const problems = [
    ...layerBreaches(src, graph),
    ...importCycles(src, graph).map((cycle) => `import cycle: ${cycle.join(" -> ")}`),
  ];
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(
      `check-layers: ${problems.length} problem(s); the layers are in scripts/check-layers.ts`,
    );
    process.exit(1);
  }
  console.log(`check-layers: ${graph.size} files in src/, layers respected, no import cycles`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename ?? "")) main();
