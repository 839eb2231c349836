import type { ScaleKind } from "./scale-protocol.js";
import type { ScaleCurve } from "./scale-report.js";

/*
 * bench/scale-curve.svg: server CPU per delivery against subscribers, one panel per kind of
 * fan-out, one line per server. The x axis is logarithmic (1 000, 5 000, 10 000 spread
 * evenly enough); the y axis starts at 0, so a flat curve looks flat.
 */

const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 56, right: 32, top: 70, bottom: 46 };
const COLORS: Record<string, string> = { sluice: "#d9480f", "node:http": "#495057" };
const TITLES: Record<ScaleKind, string> = { sse: "SSE fan-out", ws: "WebSocket fan-out" };
const TITLE = "Server CPU µs per delivery as subscribers grow (flat is good)";

export function renderScaleChart(curves: ScaleCurve[], caption: string): string {
  const kinds = [...new Set(curves.map((curve) => curve.kind))];
  const width = kinds.length * (PANEL_WIDTH + MARGIN.left + MARGIN.right);
  const height = MARGIN.top + PANEL_HEIGHT + MARGIN.bottom;
  const panels = kinds.map((kind, i) =>
    panel(
      curves.filter((curve) => curve.kind === kind),
      TITLES[kind],
      i * (PANEL_WIDTH + MARGIN.left + MARGIN.right) + MARGIN.left,
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="scale-title">`,
    `<title id="scale-title">${escaped(TITLE)}</title>`,
    "<style>.bold{font-weight:bold}.small{font-size:10px;fill:#495057}.end{text-anchor:end}.mid{text-anchor:middle}</style>",
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(8, 18, TITLE, "bold"),
    text(8, 34, caption, "small"),
    ...panels.flat(),
    "</svg>",
    "",
  ].join("\n");
}

function panel(curves: ScaleCurve[], title: string, left: number): string[] {
  const counts = curves[0]?.points.map((point) => point.subscribers) ?? [];
  const values = curves.flatMap((curve) => curve.points.map(cpuOf));
  const top = niceCeiling(Math.max(...values, 1) * 1.15);
  const [low, high] = [Math.log(counts[0] ?? 1), Math.log(counts[counts.length - 1] ?? 10)];
  const x = (count: number) =>
    left +
    (high === low ? PANEL_WIDTH / 2 : ((Math.log(count) - low) / (high - low)) * PANEL_WIDTH);
  const y = (value: number) => MARGIN.top + PANEL_HEIGHT - (value / top) * PANEL_HEIGHT;
  const parts = [
    text(left, MARGIN.top - 14, `${title}: server CPU µs per delivery`, "bold"),
    line(left, y(0), left + PANEL_WIDTH, y(0), "#212529"),
    line(left, y(0), left, y(top), "#212529"),
  ];
  for (let step = 0; step <= 4; step++) {
    const value = (top * step) / 4;
    parts.push(line(left, y(value), left + PANEL_WIDTH, y(value), "#dee2e6"));
    parts.push(text(left - 6, y(value) + 4, value.toFixed(1), "small end"));
  }
  for (const count of counts) {
    parts.push(text(x(count), y(0) + 16, count.toLocaleString("en-US"), "small mid"));
  }
  parts.push(text(left + PANEL_WIDTH / 2, y(0) + 34, "subscribers (log scale)", "small mid"));
  for (const [i, curve] of curves.entries()) {
    const others = curves.filter((other) => other !== curve);
    parts.push(...series(curve, others, x, y, left, i));
  }
  return parts;
}

function series(
  curve: ScaleCurve,
  others: ScaleCurve[],
  x: (count: number) => number,
  y: (value: number) => number,
  left: number,
  index: number,
): string[] {
  const color = COLORS[curve.server] ?? "#1c7ed6";
  const points = curve.points.map(
    (point) => `${x(point.subscribers).toFixed(1)},${y(cpuOf(point)).toFixed(1)}`,
  );
  const legendY = MARGIN.top + 14 + index * 16;
  return [
    `<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`,
    ...curve.points.map(
      (point) =>
        `<circle cx="${x(point.subscribers).toFixed(1)}" cy="${y(cpuOf(point)).toFixed(1)}" r="3" fill="${color}"/>`,
    ),
    // Each value above its point when it is the highest there, below it otherwise.
    ...curve.points.map((point, i) => {
      const highest = others.every((other) => cpuOf(other.points[i] ?? point) <= cpuOf(point));
      const labelY = y(cpuOf(point)) + (highest ? -7 : 15);
      return text(x(point.subscribers), labelY, cpuOf(point).toFixed(2), "small mid");
    }),
    line(left + PANEL_WIDTH - 110, legendY - 4, left + PANEL_WIDTH - 90, legendY - 4, color, 2),
    text(left + PANEL_WIDTH - 84, legendY, curve.server, "small"),
  ];
}

function cpuOf(point: Record<string, number>): number {
  return point["server CPU µs/delivery"];
}

/** The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten at or above `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((factor) => factor * power >= value) ?? 10;
  return step * power;
}

function line(x1: number, y1: number, x2: number, y2: number, color: string, width = 1): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${color}" stroke-width="${width}"/>`;
}

function text(x: number, y: number, content: string, style = ""): string {
  const cls = style ? ` class="${style}"` : "";
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${cls}>${escaped(content)}</text>`;
}

function escaped(content: string): string {
  return content.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
