import type { ScenarioResult } from "./scenario.js";

const WIDTH = 900;
const LABEL_WIDTH = 330;
const PLOT_WIDTH = 480;
const BAR_HEIGHT = 13;
const BAR_GAP = 3;
const GROUP_GAP = 14;
const TOP = 64;
/** Ratios above this are drawn to the edge and labelled with their value. */
const MAX_SHOWN = 4;
const TITLE = "sluice and its peers, relative to node:http (longer is better)";
const COLORS: Record<string, string> = {
  sluice: "#d9480f",
  "sluice topics": "#e64980",
  "node:http": "#495057",
  Fastify: "#1c7ed6",
  Hono: "#f59f00",
  "better-sse": "#2f9e44",
  "socket.io": "#7048e8",
  floor: "#adb5bd",
  "floor+cork": "#ced4da",
};

/**
 * A horizontal bar chart of each scenario's main metric, as a ratio to the baseline made so
 * that longer is better (rates: value / baseline; CPU and memory: baseline / value).
 */
export function renderChart(scenarios: ScenarioResult[], caption: string): string {
  const groups = scenarios.map((scenario) => ({ scenario, bars: bars(scenario) }));
  const maxRatio = Math.min(
    MAX_SHOWN,
    Math.max(1.25, ...groups.flatMap((group) => group.bars.map((bar) => bar.ratio))),
  );
  const x = (ratio: number) => LABEL_WIDTH + (Math.min(ratio, maxRatio) / maxRatio) * PLOT_WIDTH;
  const parts: string[] = [];
  let y = TOP;
  for (const { scenario, bars: list } of groups) {
    const { key, better } = scenario.main;
    const measure = better === "higher" ? key : `${key}, inverted`;
    parts.push(text(8, y + 10, `(${scenario.id.replace(/-.*$/, "")}) ${scenario.title}`, "bold"));
    parts.push(text(8, y + 24, measure, "small"));
    for (const bar of list) {
      const top = y;
      parts.push(text(LABEL_WIDTH - 8, top + 10, bar.label, "end"));
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${top}" width="${(x(bar.ratio) - LABEL_WIDTH).toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[bar.label] ?? "#868e96"}"/>`,
      );
      parts.push(text(x(bar.ratio) + 4, top + 10, `${bar.ratio.toFixed(2)}×`, "small"));
      y += BAR_HEIGHT + BAR_GAP;
    }
    y = Math.max(y, TOP) + GROUP_GAP;
  }
  const height = y + 10;
  const one = x(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">${TITLE}</title>`,
    "<style>.bold{font-weight:bold}.small{font-size:10px;fill:#495057}.end{text-anchor:end}</style>",
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    text(8, 20, TITLE, "bold"),
    text(8, 38, caption, "small"),
    `<line x1="${one}" y1="${TOP - 8}" x2="${one}" y2="${height - 10}" stroke="#212529" stroke-dasharray="4 3"/>`,
    text(one + 4, TOP - 10, "node:http = 1×", "small"),
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function bars(scenario: ScenarioResult): { label: string; ratio: number }[] {
  const { key, better } = scenario.main;
  const base = scenario.results[0]?.median[key];
  return scenario.results
    .map((result) => {
      const value = result.median[key];
      const ratio = better === "higher" ? value / base : base / value;
      return { label: result.label, ratio };
    })
    .filter((bar) => Number.isFinite(bar.ratio));
}

function text(x: number, y: number, content: string, style = ""): string {
  const escaped = content.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const cls = style ? ` class="${style}"` : "";
  return `<text x="${x.toFixed(1)}" y="${y}"${cls}>${escaped}</text>`;
}
