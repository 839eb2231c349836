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
