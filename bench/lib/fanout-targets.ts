import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type FanoutServer, startFanoutServer } from "./fanout-server.js";
import { HUB_BENCH_TOPIC } from "./hub-bench-topic.js";
import { HubPublisher } from "./hub-publisher.js";
import type { LatencyHistogram } from "./latency-histogram.js";
import { ROOT } from "./servers.js";

/** The real-time endpoint both servers serve subscribers on. */
export const SUBSCRIBE_PATH = "/rt";

export interface Published {
  published: number;
  /** For publishes over HTTP: each request's time to its answer, in the measured window. */
  answers?: LatencyHistogram;
}

/** A server measured by bench/hub-fanout.ts, and how messages get published to it. */
export interface FanoutTarget {
  label: string;
  /** Starts a fresh server process fit for `connections` subscribers. */
  start(connections: number): Promise<FanoutServer>;
  /** Starts publishing `rate` messages/s to HUB_BENCH_TOPIC from seq 0. */
  startPublishing(server: FanoutServer, rate: number): Promise<void>;
  /** Whether the publishes started from now on are in the measured window. */
  measuring(on: boolean): void;
  /** Stops; resolves how many messages were published. A failed publish rejects. */
  stopPublishing(server: FanoutServer): Promise<Published>;
}

/**
 * `sluice hub` as users run it (`node dist/hub/bin.js hub`, or src/hub/bin.ts through tsx
 * with --src): the memory broker, no JWT options (so /rt is open, as the library server's),
 * one publish key, its default settings otherwise. Publishing is `POST /publish` from this
 * process (bench/lib/hub-publisher.ts).
 */
export function hubTarget(dist: boolean): FanoutTarget {
  const key = randomBytes(24).toString("hex");
  const bin = dist ? ["dist/hub/bin.js"] : ["--import", "tsx", "src/hub/bin.ts"];
  if (dist && !existsSync(join(ROOT, "dist/hub/bin.js"))) {
    throw new Error(
      "dist/hub/bin.js is missing: run npm run build (npm run bench:hub does), or pass --src",
    );
  }
  let publisher: HubPublisher | undefined;
  return {
    label: "sluice hub, POST /publish",
    start: (connections) =>
      startFanoutServer(
        "sluice hub",
        [
          process.execPath,
          ...bin,
          "hub",
          "--port",
          "0",
          "--host",
          "127.0.0.1",
          "--publish-key",
          key,
        ],
        connections,
        hubEnv(),
      ),
    startPublishing: async (server, rate) => {
      publisher = new HubPublisher(server.port, key, HUB_BENCH_TOPIC);
      publisher.start(rate);
    },
    measuring: (on) => {
      if (publisher) publisher.answers.recording = on;
    },
    stopPublishing: async () => {
      if (!publisher) throw new Error("the hub's publisher was not started");
      return { published: await publisher.stop(), answers: publisher.answers };
    },
  };
}

/** This environment without SLUICE_* settings, npm's variables and NODE_OPTIONS; logs at info. */
function hubEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(SLUICE_|npm_)/i.test(name) || name === "NODE_OPTIONS") continue;
    env[name] = value;
  }
  return { ...env, LOG_LEVEL: "info" };
}

/**
 * The same fan-out through the library API: bench/servers/realtime-library.ts, an App with
 * `app.realtime("/rt")` publishing with `app.publish()` on a timer in its own process, started
 * and stopped over HTTP (outside the measured window: the trigger costs nothing per message).
 */
export function libraryTarget(dist: boolean): FanoutTarget {
  const script = join(ROOT, "bench/servers/realtime-library.ts");
  const control = (server: FanoutServer, path: string) =>
    fetch(`http://127.0.0.1:${server.port}${path}`, { method: "POST" });
  return {
    label: "library, app.publish()",
    start: (connections) =>
      startFanoutServer(
        "library server",
        [process.execPath, "--import", "tsx", script],
        connections,
        { ...process.env, BENCH_SLUICE_DIST: dist ? "1" : "0", BENCH_WATCH_PARENT: "1" },
      ),
    startPublishing: async (server, rate) => {
      const response = await control(server, `/bench/start?rate=${rate}`);
      if (!response.ok)
        throw new Error(`POST /bench/start: ${response.status} ${await response.text()}`);
      await response.body?.cancel();
    },
    measuring: () => {},
    stopPublishing: async (server) => {
      const response = await control(server, "/bench/stop");
      if (!response.ok) throw new Error(`POST /bench/stop: ${response.status}`);
      const { published, failed } = (await response.json()) as {
        published: number;
        failed: number;
      };
      if (failed > 0)
        throw new Error(`app.publish() failed ${failed} times (see the server's stderr)`);
      return { published };
    },
  };
}
