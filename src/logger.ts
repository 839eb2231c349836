import { type Logger, type LoggerOptions, pino } from "pino";

export type LoggerOption = Logger | LoggerOptions | false | undefined;

/** A pino logger from an App option: a ready logger, pino options, or false for silence. */
export function createLogger(option: LoggerOption | null): Logger {
  if (option === false) return pino({ level: "silent" });
  if (isLogger(option)) return option;
  const options = option ?? {};
  return pino({ ...options, level: options.level ?? process.env.LOG_LEVEL ?? "info" });
}

function isLogger(value: LoggerOption | null): value is Logger {
  return (
    typeof value === "object" && value !== null && typeof (value as Logger).child === "function"
  );
}

type FailureLevel = "debug" | "info" | "warn" | "error";

/**
 * Logs without ever throwing, for the paths that run once something already failed and a
 * client still needs its answer (a 500, a cut stream, a 1011). A logger whose destination
 * throws (a full disk, a closed pipe) loses the line; an error the logger cannot serialise
 * (a `message` getter that throws, say) is logged with a stand-in for it.
 */
export function logSafely(
  log: Logger,
  level: FailureLevel,
  details: { err?: unknown; [key: string]: unknown },
  message: string,
): void {
  try {
    log[level](details, message);
    return;
  } catch {
    if (!("err" in details)) return;
  }
  try {
    log[level]({ ...details, err: unserialisable(details.err) }, message);
  } catch {
    // The logger itself fails: nothing is left to report with.
  }
}

function unserialisable(error: unknown): Error {
  let type = typeof error as string;
  try {
    type = (error as object).constructor.name;
  } catch {
    // A getter on the way threw too: the typeof is all there is.
  }
  return new Error(`(an error of type ${type} that could not be serialised for the log)`);
}
