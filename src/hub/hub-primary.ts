import cluster, { type Worker } from "node:cluster";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import type { AppMetrics } from "../app/app-metrics.js";
import { createLogger, logWritesSettled } from "../util/logger.js";
import { isClusterMessage } from "./cluster-messages.js";
import type { HubOptions } from "./hub-options.js";
import { RetiredCounters } from "./retired-counters.js";
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
    { workers: primary.pids, url: primary.url, broker: "redis" },
    "sluice hub ready",
  );
  return undefined;
}

/** A gathering of metrics under way: the samples so far, and who has not answered. */
interface Gathering {
  readonly samples: Map<Worker, AppMetrics>;
  readonly waiting: Set<Worker>;
  readonly done: () => void;
}

class HubPrimary {
  readonly #count: number;
  readonly logger: Logger;
  readonly #restarts = new WorkerRestarts();
  /** Every worker alive, and when it was forked. */
  readonly #forkedAt = new Map<Worker, number>();
  /** The workers that listen (the others are starting, and hold no client). */
  readonly #listening = new Set<Worker>();
  /** Each worker's latest metrics, answered for it when it is late; retired when it dies. */
  readonly #lastSample = new Map<Worker, AppMetrics>();
  readonly #retired = new RetiredCounters();
  readonly #gatherings = new Map<number, Gathering>();
  /** Workers killed while starting during the drain: their end is no failed close. */
  readonly #abandoned = new Set<Worker>();
  #nextGather = 1;
  #shuttingDown = false;
  #failedClose = false;
  url = "";

  constructor(count: number, logger: Logger) {
    this.#count = count;
    this.logger = logger;
  }

  get pids(): number[] {
    return [...this.#listening].map((worker) => worker.process.pid ?? 0);
  }

  /** Forks the workers; true once all listen, false if one exits first (the rest are killed). */
  async start(): Promise<boolean> {
    const firsts = Array.from({ length: this.#count }, () => this.#fork());
    const outcomes = await Promise.all(firsts);
    if (!outcomes.every((ok) => ok)) {
      for (const worker of this.#forkedAt.keys()) worker.process.kill("SIGKILL");
      return false;
    }
    cluster.on("exit", (worker, code, signal) => this.#onExit(worker, code, signal));
    process.on("SIGTERM", (signal) => this.#onSignal(signal));
    process.on("SIGINT", (signal) => this.#onSignal(signal));
    return true;
  }

  /** Forks one worker; resolves true once it listens, false if it exits first. */
  #fork(): Promise<boolean> {
    const worker = cluster.fork();
    this.#forkedAt.set(worker, Date.now());
    worker.on("message", (message: unknown) => this.#onMessage(worker, message));
    // A send to a worker that has just died fails (EPIPE) as an 'error' event: not a crash.
    worker.on("error", (error) =>
      this.logger.warn({ err: error, worker: worker.process.pid }, "cannot reach a worker"),
    );
    return new Promise((resolve) => {
      const onExit = () => resolve(false);
      worker.once("exit", onExit);
      worker.once("listening", (address) => {
        worker.off("exit", onExit);
        if (this.#shuttingDown) {
          this.#abandon(worker); // started during the drain: it holds no client
          return resolve(false);
        }
        this.#listening.add(worker);
        // The same for every worker, but for one: with --port 0, should every worker die,
        // node:cluster lets the port go, and the next worker gets a new one.
        this.url = listeningUrl(address);
        resolve(true);
      });
    });
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const forkedAt = this.#forkedAt.get(worker) ?? Date.now();
    this.#forkedAt.delete(worker);
    this.#listening.delete(worker);
    const last = this.#lastSample.get(worker);
    this.#lastSample.delete(worker);
    if (last) this.#retired.retire(last);
    for (const gathering of this.#gatherings.values()) {
      // Its counts are the retired ones now: not twice.
      gathering.samples.delete(worker);
      if (gathering.waiting.delete(worker) && gathering.waiting.size === 0) gathering.done();
    }
    if (this.#shuttingDown) {
      if (code !== 0 && !this.#abandoned.delete(worker)) this.#failedClose = true;
      if (this.#forkedAt.size === 0) void this.#exit();
      return;
    }
    const delay = this.#restarts.delayAfterDeath(forkedAt);
    this.logger.warn(
      { worker: worker.process.pid, code, signal, restartIn: delay },
      "a worker exited; starting a replacement",
    );
    // Not unref'd: with every worker dead, this timer is what keeps the primary running.
    setTimeout(() => this.#replace(), delay);
  }

  async #replace(): Promise<void> {
    if (this.#shuttingDown) return;
    if (await this.#fork())
      this.logger.info({ workers: this.pids, url: this.url }, "worker replaced");
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#shuttingDown) {
      this.logger.error({ signal }, "second signal while draining; killing the workers");
      for (const worker of this.#forkedAt.keys()) worker.process.kill("SIGKILL");
      process.exit(1);
    }
    this.#shuttingDown = true;
    this.logger.info(
      { signal, workers: this.#forkedAt.size },
      "closing gracefully: draining the workers",
    );
    for (const worker of this.#forkedAt.keys()) {
      // One still starting has not listened for the drain message yet, and holds no client.
      if (!this.#listening.has(worker)) this.#abandon(worker);
      else if (worker.isConnected()) worker.send({ sluice: "drain" });
    }
    if (this.#forkedAt.size === 0) void this.#exit();
    setTimeout(() => {
      this.logger.error("workers still open after the drain deadline; killing them");
      this.#failedClose = true;
      for (const worker of this.#forkedAt.keys()) worker.process.kill("SIGKILL");
    }, DRAIN_DEADLINE_MS).unref();
  }

  #abandon(worker: Worker): void {
    this.#abandoned.add(worker);
    worker.process.kill("SIGKILL");
  }

  async #exit(): Promise<void> {
    await logWritesSettled(this.logger, 500);
    process.exit(this.#failedClose ? 1 : 0);
  }

  #onMessage(from: Worker, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.sluice === "gather") {
      void this.#gather().then((samples) => {
        if (from.isConnected()) from.send({ sluice: "gathered", id: message.id, samples });
      });
    } else if (message.sluice === "sample") {
      const gathering = this.#gatherings.get(message.id);
      const sample = message.sample as AppMetrics;
      this.#lastSample.set(from, sample);
      gathering?.samples.set(from, sample);
      if (gathering?.waiting.delete(from) && gathering.waiting.size === 0) gathering.done();
    }
  }

  /**
   * The hub's metrics as samples: every listening worker's, the latest it sent for one that
   * does not answer within GATHER_TIMEOUT_MS, and what the dead ones had counted.
   */
  #gather(): Promise<AppMetrics[]> {
    const id = this.#nextGather++;
    const workers = [...this.#listening].filter((worker) => worker.isConnected());
    return new Promise((resolve) => {
      const samples = new Map<Worker, AppMetrics>();
      const waiting = new Set(workers);
      const done = () => {
        clearTimeout(timer);
        this.#gatherings.delete(id);
        for (const late of waiting) {
          const last = this.#lastSample.get(late);
          if (last) samples.set(late, last);
        }
        resolve([...samples.values(), ...this.#retired.samples]);
      };
      const timer = setTimeout(done, GATHER_TIMEOUT_MS);
      this.#gatherings.set(id, { samples, waiting, done });
      for (const worker of workers) worker.send({ sluice: "sample?", id });
      if (waiting.size === 0) done();
    });
  }
}

function listeningUrl(address: { address: string | null; port: number }): string {
  const wildcard = !address.address || ["0.0.0.0", "::"].includes(address.address);
  const host = wildcard ? "127.0.0.1" : (address.address as string);
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}
