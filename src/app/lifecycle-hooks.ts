import type { Logger } from "pino";
import { logSafely } from "../util/logger.js";
import { settledWithin } from "../util/settled-within.js";
import type { ListeningServer } from "./listen.js";

/** Runs once `listen()` has its server listening; what it throws rejects `listen()`. */
export type ListenHook = (listening: ListeningServer) => unknown;
/** Runs during `app.close()`; what it throws is logged and the close goes on. */
export type CloseHook = () => unknown;

/**
 * The app's `onListen` and `onClose` hooks. onListen hooks run in registration order, one
 * after the other. onClose hooks run in reverse order (the last thing started is the first
 * stopped, so a publisher registered after the pool it writes to stops before the pool
 * closes), each awaited until it settles or the close's deadline passes; a hook is called
 * even past the deadline, just not waited for.
 */
export class LifecycleHooks {
  readonly #onListen: ListenHook[] = [];
  readonly #onClose: CloseHook[] = [];
  #listenStarted = false;
  #closeStarted = false;
  #closeRequested = false;
  /** The onListen hooks' run, which a close waits for: what they start, onClose stops. */
  #listenRun: Promise<void> | undefined;

  addListen(hook: ListenHook): void {
    checkHook("onListen", hook);
    if (this.#listenStarted) {
      throw new Error("app.onListen() was called after listen(): register the hook before");
    }
    this.#onListen.push(hook);
  }

  addClose(hook: CloseHook): void {
    checkHook("onClose", hook);
    if (this.#closeStarted) {
      throw new Error("app.onClose() was called after close(): register the hook before");
    }
    this.#onClose.push(hook);
  }

  /** `app.close()` was called: onListen hooks not yet started will not be. */
  closeRequested(): void {
    this.#closeRequested = true;
  }

  /** Rejects with the first hook's failure; the hooks after it do not run. */
  runListen(listening: ListeningServer): Promise<void> {
    this.#listenStarted = true;
    this.#listenRun = this.#runListenHooks(listening);
    return this.#listenRun;
  }

  async #runListenHooks(listening: ListeningServer): Promise<void> {
    for (const hook of this.#onListen) {
      // A close that began meanwhile: the hooks left would start what nothing stops.
      if (this.#closeRequested) return;
      await hook(listening);
    }
  }

  /** Never rejects: a failing hook is logged, one still running at `deadline` is left to run. */
  async runClose(logger: Logger, deadline: number): Promise<void> {
    this.#closeStarted = true;
    // A close during start-up (SIGTERM, a hook awaiting a database): the onListen hook still
    // running finishes first, so the timer it starts is there for onClose to stop.
    if (this.#listenRun) {
      if (!(await settledWithin([this.#listenRun], deadline - Date.now()))) {
        logSafely(
          logger,
          "warn",
          {},
          "an onListen hook was still running when the close timeout passed; closing without it",
        );
      }
    }
    for (const hook of [...this.#onClose].reverse()) {
      const settled = await settledWithin([runLogged(hook, logger)], deadline - Date.now());
      if (!settled) {
        logSafely(
          logger,
          "warn",
          { hook: hook.name || "anonymous" },
          "an onClose hook was still running when the close timeout passed; not waiting for it",
        );
      }
    }
  }
}

function checkHook(name: string, hook: unknown): void {
  if (typeof hook !== "function") throw new TypeError(`app.${name}() takes a function`);
}

/** The hook's run as a promise that never rejects: a failure (thrown or rejected) is logged. */
async function runLogged(hook: CloseHook, logger: Logger): Promise<void> {
  try {
    await hook();
  } catch (error) {
    logSafely(logger, "error", { err: error }, "an onClose hook failed; the close goes on");
  }
}
