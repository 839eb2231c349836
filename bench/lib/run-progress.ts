import type { Sample } from "./stats.js";

/** Below this share of the deliveries due in the window, the server (or the machine) fell behind. */
const KEPT_UP_PERCENT = 95;

/**
 * Prints on stderr how one run of a fan-out benchmark (bench/hub-fanout.ts, bench/h2-fanout.ts)
 * went: `label, run i/n:` then deliveries/s, CPU per delivery, `middle` (what that benchmark
 * adds), server and subscribers CPU; and a warning when the server fell behind.
 */
export function printRunProgress(
  label: string,
  round: number,
  runs: number,
  sample: Sample,
  middle: string[],
): void {
  const summary = [
    `${Math.round(sample["deliveries/s"])} deliveries/s`,
    `${sample["server CPU µs/delivery"].toFixed(2)} µs CPU/delivery`,
    ...middle,
    `server CPU ${sample["server CPU %"].toFixed(0)} %`,
    `subscribers CPU ${sample["subscribers CPU %"].toFixed(0)} %`,
  ].join(", ");
  console.error(`  ${label}, run ${round + 1}/${runs}: ${summary}`);
  if (sample["delivered % of due"] < KEPT_UP_PERCENT) {
    console.error(
      `    behind: ${sample["delivered % of due"].toFixed(0)} % of the deliveries due in the window (is something else using the machine?)`,
    );
  }
}
