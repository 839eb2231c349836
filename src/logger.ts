import { type Logger, type LoggerOptions, pino } from "pino";

export type LoggerOption = Logger | LoggerOptions | false | undefined;

/** A pino logger from an App option: a ready logger, pino options, or false for silence. */
export function createLogger(option: LoggerOption): Logger {
  if (option === false) return pino({ level: "silent" });
  if (isLogger(option)) return option;
  return pino({ level: process.env.LOG_LEVEL ?? "info", ...option });
}

function isLogger(value: LoggerOption): value is Logger {
  return typeof value === "object" && typeof (value as Logger).child === "function";
}
