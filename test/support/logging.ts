import { Writable } from "node:stream";
import { pino } from "pino";

export interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  err?: { message: string; type: string };
  [key: string]: unknown;
}

/** A pino logger whose lines are kept in memory, to assert on what the app logged. */
export function capturedLogger(level = "debug") {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level }, destination), lines };
}

/** Log lines at error level or above (pino's 50 and up). */
export function errorLines(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => line.level >= 50);
}
