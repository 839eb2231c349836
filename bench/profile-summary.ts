import { readFileSync } from "node:fs";
import { relative } from "node:path";

/*
 * Top functions of a V8 .cpuprofile (from `npm run bench -- --profile`), by self and by
 * total time, in % of the non-idle time.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile [top=25]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(["(idle)"]);

function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  return self;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (!url) return name;
  const file = url.startsWith("file://") ? relative(process.cwd(), new URL(url).pathname) : url;
  return `${name}  ${file}:${lineNumber + 1}`;
}

/** Self and total time by function; a function is counted once per stack (recursion). */
function summarise(profile: Profile): { self: Map<string, number>; total: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = selfTimes(profile);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const visit = (node: ProfileNode, onStack: Set<string>): number => {
    const key = label(node);
    let time = selfById.get(node.id) ?? 0;
    self.set(key, (self.get(key) ?? 0) + time);
    const inner = onStack.has(key) ? onStack : new Set(onStack).add(key);
    for (const child of node.children ?? []) time += visit(byId.get(child) as ProfileNode, inner);
    if (!onStack.has(key)) total.set(key, (total.get(key) ?? 0) + time);
    return time;
  };
  visit(profile.nodes[0], new Set());
  return { self, total };
}

function print(title: string, times: Map<string, number>, busy: number, top: number): void {
  console.log(`\n${title}`);
  const rows = [...times].filter(([key]) => !IDLE.has(key) && key !== "(root)");
  for (const [key, time] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((time / busy) * 100).toFixed(1).padStart(6)} %  ${key}`);
  }
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const { self, total } = summarise(profile);
const all = [...self.values()].reduce((sum, time) => sum + time, 0);
const idle = [...IDLE].reduce((sum, key) => sum + (self.get(key) ?? 0), 0);
const busy = all - idle;
console.log(`${file}: ${(busy / 1000).toFixed(0)} ms busy of ${(all / 1000).toFixed(0)} ms`);
print("by self time (% of busy)", self, busy, Number(topArg ?? 25));
print("by total time (% of busy)", total, busy, Number(topArg ?? 25));
