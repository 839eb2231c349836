// The soak's result as markdown: a summary of the churn, then every check.
import type { SoakReport } from "./soak.js";

function row(cells: string[]): string {
  return `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ");
}

export function summaryRows(report: SoakReport): string[][] {
  const { churn, options } = report;
  const asked = options.clients;
  return [
    ["clients", `${churn.started} of ${asked}${churn.timeUp ? " (time ran out)" : ""}`],
    ["by kind", counts(churn.byKind)],
    ["long-lived, by how they left", counts(churn.byLeave)],
    ["concurrency (clients at once)", String(options.concurrency)],
    ["hold time", `${options.holdMs.min}–${options.holdMs.max} ms`],
    [
      "peak connections held",
      `${churn.peakHeld} (client side), ${report.serverPeakHeld} (server's app.connections, SSE + WebSocket only, sampled each second)`,
    ],
    [
      "churn rate",
      `${churn.churnRate.toFixed(1)} connections opened+closed per second (${churn.opened} opened, ${churn.closed} closed in ${(churn.elapsedMs / 1000).toFixed(1)} s)`,
    ],
    ["plain JSON requests", String(churn.jsonRequests)],
    ["errors seen by clients", String(churn.failureCount)],
    ["settled after the churn in", `${(report.settleMs / 1000).toFixed(1)} s`],
  ];
}

export function renderReport(report: SoakReport): string {
  const lines = [
    "| churn | |",
    "| --- | --- |",
    ...summaryRows(report).map(row),
    "",
    "| server, after GC | before | after | must be | ok |",
    "| --- | --- | --- | --- | --- |",
    ...report.checks.map((check) =>
      row([check.name, check.before, check.after, check.rule, check.ok ? "yes" : "**NO**"]),
    ),
  ];
  if (report.churn.failures.length > 0) {
    lines.push("", "Client failures (first ones):");
    for (const failure of report.churn.failures.slice(0, 20)) {
      lines.push(`- ${failure.kind} (${failure.leave}): ${failure.message}`);
    }
  }
  if (report.warmUp.failureCount > 0) {
    lines.push("", `The warm-up had ${report.warmUp.failureCount} client failures:`);
    for (const failure of report.warmUp.failures.slice(0, 5)) {
      lines.push(`- ${failure.kind} (${failure.leave}): ${failure.message}`);
    }
  }
  if (report.after.recentLogLines.length > 0) {
    lines.push(
      "",
      "The app's last warn/error lines:",
      ...report.after.recentLogLines.map((l) => `    ${l}`),
    );
  }
  lines.push("", report.ok ? "Back to baseline: yes" : "Back to baseline: **NO**");
  return lines.join("\n");
}
