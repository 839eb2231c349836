import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type LoggerOption = Logger | LoggerOptions | false | undefined;

/** A pino logger from an App option: a ready logger, pino options, or false for silence. */
export function createLogger(option: LoggerOption | null): Logger {
  if (option === false) return pino({ level: "silent" });
  if (isLogger(option)) return option;
  const options = option ?? {};
  const settings = { ...options, level: options.level ?? process.env.LOG_LEVEL ?? "info" };
  // A transport brings its own destination; so does a stdout someone replaced (pino then
  // writes through process.stdout.write, as a test runner capturing output expects).
  if (options.transport || stdoutReplaced()) return pino(settings);
  return pino(settings, stdoutDestination());
}

/**
 * Stdout written synchronously, one write(2) per line, by pino's own destination. pino's
 * default one is asynchronous and, at exit, writes what it still holds synchronously,
 * retrying every error but EAGAIN every 100 ms for ever: on a pipe whose reader is gone
 * (EPIPE) the process never exits. A synchronous write has nothing left to flush at exit.
 * Once a write fails for good (EPIPE, EBADF) lines are dropped; a pipe that is full
 * (EAGAIN, its reader is slow) keeps the line for the next write instead of blocking the
 * event loop in a retry loop, up to MAX_QUEUED_LOG_BYTES.
 */
/** Log bytes kept in memory while stdout's reader is not reading (16 MiB). */
const MAX_QUEUED_LOG_BYTES = 16 * 1024 * 1024;

function stdoutDestination(): DestinationStream {
  const stream = pino.destination({
    dest: process.stdout.fd,
    sync: true,
    retryEAGAIN: () => false,
    // What a reader that stopped reading leaves queued is bounded: past it lines are dropped.
    maxLength: MAX_QUEUED_LOG_BYTES,
  });
  let broken = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EAGAIN" && error.code !== "EBUSY") broken = true;
  });
  return {
    write(line: string) {
      if (!broken) stream.write(line);
    },
  };
}

function stdoutReplaced(): boolean {
  return process.stdout.write !== Object.getPrototypeOf(process.stdout).write;
}

const LOG_WRITE_EVENTS = ["drain", "error", "close"] as const;

/**
 * Resolves once the logger's destination holds no line it would write synchronously at
 * exit, or after `timeout` ms. Only pino's asynchronous destination (sonic-boom, as
 * `pino()` creates by default) needs this: its exit-time flush retries a broken pipe for
 * ever, while a write that fails here makes pino stop writing to it. Others resolve at once.
 */
export function logWritesSettled(log: Logger, timeout: number): Promise<void> {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!isAsyncSonicBoom(stream)) return Promise.resolve();
  return new Promise((resolve) => {
    const settle = () => {
      clearTimeout(timer);
      for (const event of LOG_WRITE_EVENTS) stream.off(event, settle);
      resolve();
    };
    const timer = setTimeout(settle, timeout);
    for (const event of LOG_WRITE_EVENTS) stream.once(event, settle);
    try {
      // An empty line ends in 'drain' (after any line before it) or 'error' even when
      // nothing is pending; flush() makes a destination with a minLength write what it holds.
      stream.write("");
      stream.flush();
    } catch {
      settle();
    }
  });
}

interface AsyncSonicBoom {
  sync: false;
  flushSync(): void;
  flush(): void;
  write(data: string): void;
  once(event: string, listener: () => void): void;
  off(event: string, listener: () => void): void;
}

function isAsyncSonicBoom(stream: unknown): stream is AsyncSonicBoom {
  if (typeof stream !== "object" || stream === null) return false;
  const candidate = stream as Partial<AsyncSonicBoom>;
  return (
    candidate.sync === false &&
    typeof candidate.flushSync === "function" &&
    typeof candidate.flush === "function" &&
    typeof candidate.once === "function"
  );
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
