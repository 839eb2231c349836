/** Seconds per unit, by the unit's first letter. */
const SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 31_557_600,
};
/** A span as jose reads one: `30`, `"30s"`, `"2 minutes"`, `"1.5h"`... (no sign, no "ago"). */
const SPAN =
  /^(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)$/i;

/**
 * `clockTolerance` or `maxTokenAge` in seconds: a number of seconds, or a span jose takes
 * ("30s", "1h"); a TypeError naming the option otherwise, when jwtAuth is made, rather than a
 * refusal of every token later.
 */
export function spanSeconds(where: string, name: string, value: number | string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === "string") {
    const match = SPAN.exec(value);
    if (match) return Math.round(Number.parseFloat(match[1]) * SECONDS[match[2][0].toLowerCase()]);
  }
  throw new TypeError(
    `${where}: ${name} must be a number of seconds ≥ 0 or a span such as "30s" or "1h", got ${JSON.stringify(value) ?? String(value)}`,
  );
}
