import type { ScaleKind } from "./scale-protocol.js";
import type { Sample } from "./stats.js";

/** The medians of one server and one kind of subscriber, one per count of the curve. */
export interface ScaleCurve {
  server: string;
  kind: ScaleKind;
  points: Sample[];
}

export const SCALE_HEADING = "## Scale curve";

const KIND_TITLE: Record<ScaleKind, string> = {
  sse: "SSE fan-out",
  ws: "WebSocket fan-out",
};

export interface ScaleContext {
  command: string;
  machine: string;
  load: string;
  mode: string;
  rate: number;
  connectRate: number;
  durationMs: number;
  chart: string;
}

/** The generated part of the section: how it ran, the table, and the flatness of each curve. */
export function renderScaleCurve(curves: ScaleCurve[], context: ScaleContext): string {
  const servers = [...new Set(curves.map((curve) => curve.server))];
  const kinds = [...new Set(curves.map((curve) => curve.kind))];
  const lines = [
    SCALE_HEADING,
    "",
    `\`${context.command}\` · ${context.mode} · ${context.machine} · load average ${context.load}`,
    "",
    `Events published at ${context.rate}/s to every subscriber; subscribers connected at ${context.connectRate}/s`,
    `and added from one count to the next on the same server; CPU measured over ${context.durationMs / 1000} s once all`,
    "are connected. Medians of the runs; every subscriber received every event once in every run.",
    "",
    `![server CPU per delivery against subscribers](${context.chart})`,
    "",
    tableHead(servers),
    tableRule(servers),
  ];
  for (const kind of kinds) {
    for (const [i, point] of pointsOf(curves, servers[0], kind).entries()) {
      const row = servers.map((server) => pointsOf(curves, server, kind)[i]);
      lines.push(tableRow(KIND_TITLE[kind], point.subscribers, row));
    }
  }
  lines.push("", "Flatness, CPU per delivery at the largest count / at the smallest:", "");
  for (const kind of kinds) {
    const ratios = servers.map((server) => `${server} ${flatness(curves, server, kind)}`);
    lines.push(`- ${KIND_TITLE[kind]}: ${ratios.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

function tableHead(servers: string[]): string {
  const cells = [
    "fan-out",
    "subscribers",
    ...servers.map((server) => `${server} CPU µs/delivery`),
    ...servers.map((server) => `${server} RSS KB/connection`),
    ...servers.map((server) => `${server} server CPU %`),
  ];
  return `| ${cells.join(" | ")} |`;
}

function tableRule(servers: string[]): string {
  return `|---|--:|${servers
    .map(() => "--:|")
    .join("")
    .repeat(3)}`;
}

function tableRow(title: string, subscribers: number, row: Sample[]): string {
  const cells = [
    title,
    subscribers.toLocaleString("en-US"),
    ...row.map((point) => point["server CPU µs/delivery"].toFixed(2)),
    ...row.map((point) => point["RSS KB/connection"].toFixed(1)),
    ...row.map((point) => point["server CPU %"].toFixed(0)),
  ];
  return `| ${cells.join(" | ")} |`;
}

function pointsOf(curves: ScaleCurve[], server: string, kind: ScaleKind): Sample[] {
  return curves.find((curve) => curve.server === server && curve.kind === kind)?.points ?? [];
}

/** CPU per delivery at the largest count over that at the smallest: "1.07×". */
export function flatness(curves: ScaleCurve[], server: string, kind: ScaleKind): string {
  const points = pointsOf(curves, server, kind);
  const first = points[0]?.["server CPU µs/delivery"];
  const last = points[points.length - 1]?.["server CPU µs/delivery"];
  return `${(last / first).toFixed(2)}×`;
}

/** `document` with its "Scale curve" section (to the next `## ` heading) replaced, or appended. */
export function withScaleSection(document: string, section: string): string {
  const start = document.indexOf(`\n${SCALE_HEADING}\n`);
  if (start === -1) return `${document.trimEnd()}\n\n${section.trimEnd()}\n`;
  const next = document.indexOf("\n## ", start + 1);
  const rest = next === -1 ? "" : `\n${document.slice(next + 1)}`;
  return `${document.slice(0, start + 1)}${section.trimEnd()}\n${rest}`;
}
