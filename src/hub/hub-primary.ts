import cluster, { type Worker } from "node:cluster";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { createLogger, logWritesSettled } from "../util/logger.js";
import { isClusterMessage, type SampleMessage } from "./cluster-messages.js";
import type { HubOptions } from "./hub-options.js";
import { WorkerRestarts } from "./worker-restarts.js";

/** How long workers have to drain after SIGTERM before they are killed: the App's close timeout (10 s) and a margin. */
const DRAIN_DEADLINE_MS = 15_000;
/** How long a gathering of metrics waits for the workers' samples. */
const GATHER_TIMEOUT_MS = 1000;

/**
 * The primary of `sluice hub --workers N`: forks N workers (each runs the hub on the shared
 * port, an instance on the Redis broker), resolves undefined once all of them listen, and
 * then keeps N running: a worker that dies is replaced (its clients reconnect to the others
 * and resume from Redis's log). SIGTERM or SIGINT drains every worker and exits 0 (1 if one
 * failed to close); a second signal kills them and exits 1. Resolves 1 when a worker exits
 * before it first listens (it wrote why on stderr): the hub cannot start.
 */
export async function startPrimary(
  options: HubOptions,
  stderr: Writable,
): Promise<number | undefined> {
  const primary = new HubPrimary(options.workers, createLogger(undefined));
  const started = await primary.start();
  if (!started) {
    stderr.write(
      "sluice hub: cannot start: a worker exited before listening (its reason is above)\n",
    );
    return 1;
  }
  primary.logger.info(
    {
      workers: primary.pids,
      url: primary.url,
      broker: "redis",
    },
    "sluice hub ready",
  );
  return undefined;
}

class HubPrimary {
  readonly #count: number;
  readonly logger: Logger;
  readonly #restarts = new WorkerRestarts();
  /** Workers that have listened, and when each started. */
  readonly #startedAt = new Map<Worker, number>();
  #shuttingDown = false;
  #failedClose = false;
  #nextGather = 1;
  url = "";

  constructor(count: number, logger: Logger) {
    this.#count = count;
    this.logger = logger;
  }

  get pids(): number[] {
    return [...this.#startedAt.keys()].map((worker) => worker.process.pid ?? 0);
  }

  /** Forks the workers; true once all listen, false if one exits first (the rest are killed). */
  async start(): Promise<boolean> {
    const firsts = Array.from({ length: this.#count }, () => this.#fork());
    const outcomes = await Promise.all(firsts);
    if (outcomes.every((ok) => ok)) {
      cluster.on("exit", (worker, code, signal) => this.#onExit(worker, code, signal));
      process.on("SIGTERM", (signal) => this.#onSignal(signal));
      process.on("SIGINT", (signal) => this.#onSignal(signal));
      return true;
    }
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
    return false;
  }

  /** Forks one worker; resolves true once it listens, false if it exits first. */
  #fork(): Promise<boolean> {
    const worker = cluster.fork();
    worker.on("message", (message: unknown) => this.#onMessage(worker, message));
    return new Promise((resolve) => {
      const onExit = () => resolve(false);
      worker.once("exit", onExit);
      worker.once("listening", (address) => {
        worker.off("exit", onExit);
        this.#startedAt.set(worker, Date.now());
        this.url ||= listeningUrl(address);
        resolve(true);
      });
    });
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const startedAt = this.#startedAt.get(worker);
    this.#startedAt.delete(worker);
    if (code !== 0) this.#failedClose ||= this.#shuttingDown;
    if (this.#shuttingDown) {
      if (Object.keys(cluster.workers ?? {}).length === 0) void this.#exit();
      return;
    }
    const delay = this.#restarts.delayAfterDeath(startedAt ?? 0);
    this.logger.warn(
      { worker: worker.process.pid, code, signal, restartIn: delay },
      "a worker exited; starting a replacement",
    );
    setTimeout(() => this.#replace(), delay).unref();
  }

  async #replace(): Promise<void> {
    if (this.#shuttingDown) return;
    const worker = this.#fork();
    if (await worker) this.logger.info({ workers: this.pids }, "worker replaced");
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#shuttingDown) {
      this.logger.error({ signal }, "second signal while draining; killing the workers");
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      process.exit(1);
    }
    this.#shuttingDown = true;
    const workers = Object.values(cluster.workers ?? {}).filter((one) => one !== undefined);
    this.logger.info(
      { signal, workers: workers.length },
      "closing gracefully: draining the workers",
    );
    for (const worker of workers) if (worker.isConnected()) worker.send({ sluice: "drain" });
    if (workers.length === 0) void this.#exit();
    setTimeout(() => {
      this.logger.error("workers still open after the drain deadline; killing them");
      this.#failedClose = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
    }, DRAIN_DEADLINE_MS).unref();
  }

  async #exit(): Promise<void> {
    await logWritesSettled(this.logger, 500);
    process.exit(this.#failedClose ? 1 : 0);
  }

  #onMessage(from: Worker, message: unknown): void {
    if (!isClusterMessage(message) || message.sluice !== "gather") return;
    void this.#gather().then((samples) => {
      if (from.isConnected()) from.send({ sluice: "gathered", id: message.id, samples });
    });
  }

  /** Every listening worker's metrics sample, as many as answer within GATHER_TIMEOUT_MS. */
  #gather(): Promise<unknown[]> {
    const id = this.#nextGather++;
    const workers = [...this.#startedAt.keys()].filter((worker) => worker.isConnected());
    const samples: unknown[] = [];
    return new Promise((resolve) => {
      let waiting = workers.length;
      const listeners = new Map<Worker, (message: unknown) => void>();
      const finish = () => {
        clearTimeout(timer);
        for (const [worker, listener] of listeners) worker.off("message", listener);
        resolve(samples);
      };
      const timer = setTimeout(finish, GATHER_TIMEOUT_MS);
      for (const worker of workers) {
        const listener = (message: unknown) => {
          if (!isSample(message, id)) return;
          samples.push(message.sample);
          worker.off("message", listener);
          listeners.delete(worker);
          if (--waiting === 0) finish();
        };
        listeners.set(worker, listener);
        worker.on("message", listener);
        worker.send({ sluice: "sample?", id });
      }
      if (waiting === 0) finish();
    });
  }
}

function isSample(message: unknown, id: number): message is SampleMessage {
  return isClusterMessage(message) && message.sluice === "sample" && message.id === id;
}

function listeningUrl(address: { address: string | null; port: number }): string {
  const host =
    address.address && !["0.0.0.0", "::"].includes(address.address) ? address.address : "127.0.0.1";
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}
