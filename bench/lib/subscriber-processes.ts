import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { processCpuMicros } from "./cpu.js";

/**
 * Connections a subscriber process holds at most: with the process's own files (~20), well
 * under the default soft limit of 1 024 open files, so no limit needs raising on that side.
 */
export const CONNECTIONS_PER_PROCESS = 500;
const ANSWER_TIMEOUT_MS = 60_000;

/** What every command and answer on the IPC channel has; a `failed` answer is an error. */
interface Message {
  type: string;
}

interface Failed {
  type: "failed";
  message: string;
}

/**
 * The forked subscriber processes of a fan-out benchmark (bench/hub-fanout-subscribers.ts,
 * bench/h2-fanout-subscribers.ts), started once for the whole run. Commands go over IPC, one at
 * a time, each answered once (or with `{ type: "failed", message }`, which rejects). They
 * inherit this process's CPU affinity (the load generator's core).
 */
export class SubscriberProcesses<Command extends Message, Answer extends Message> {
  private constructor(private readonly children: ChildProcess[]) {}

  /** Enough processes running `entry` for `connections`, CONNECTIONS_PER_PROCESS at most each. */
  static async start<Command extends Message, Answer extends Message>(
    entry: string,
    connections: number,
  ): Promise<SubscriberProcesses<Command, Answer>> {
    const count = Math.max(1, Math.ceil(connections / CONNECTIONS_PER_PROCESS));
    const children = Array.from({ length: count }, () =>
      fork(entry, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
    await Promise.all(children.map((child) => once(child, "spawn")));
    return new SubscriberProcesses<Command, Answer>(children);
  }

  get pids(): number[] {
    return this.children.map((child) => child.pid ?? 0);
  }

  /** CPU time the subscriber processes have used, in µs. */
  cpuMicros(): number {
    return this.pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  }

  /** Sends every process `command`; resolves their answers. */
  askAll(command: Command): Promise<Answer[]> {
    return this.askEach(() => command);
  }

  /** Sends every process its own command, built with `share` (its part of a total); resolves the answers. */
  askEach(commandFor: (share: (total: number) => number) => Command): Promise<Answer[]> {
    const processes = this.children.length;
    return Promise.all(
      this.children.map((child, index) =>
        ask<Answer>(
          child,
          commandFor((total) => share(total, processes, index)),
        ),
      ),
    );
  }

  /** Sends every process `command`, answered with `{ received }`; resolves the sum. */
  async received(command: Command): Promise<number> {
    const answers: Message[] = await this.askAll(command);
    return answers.reduce(
      (sum, answer) => sum + (answer as Message & { received: number }).received,
      0,
    );
  }

  stop(): void {
    for (const child of this.children) if (child.connected) child.disconnect();
  }
}

/** Sends one command and resolves its answer; a `failed` answer, an exit or silence rejects. */
async function ask<Answer extends Message>(child: ChildProcess, command: Message): Promise<Answer> {
  const answer = new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`subscriber process ${child.pid}: no answer to ${command.type}`)),
      ANSWER_TIMEOUT_MS,
    );
    const onMessage = (message: Failed | Answer) => done(undefined, message);
    const onExit = (code: number | null) =>
      done(new Error(`subscriber process ${child.pid} exited (${code}) during ${command.type}`));
    const done = (error?: Error, message?: Failed | Answer) => {
      clearTimeout(timer);
      child.off("message", onMessage).off("exit", onExit);
      if (error) reject(error);
      else if (isFailed(message)) reject(new Error(`subscribers: ${message.message}`));
      else resolve(message as Answer);
    };
    child.on("message", onMessage).on("exit", onExit);
  });
  child.send(command);
  return answer;
}

function isFailed(message: Message | undefined): message is Failed {
  return message?.type === "failed";
}

/** Process `index`'s part of `total` spread over `processes`. */
function share(total: number, processes: number, index: number): number {
  return Math.floor(total / processes) + (index < total % processes ? 1 : 0);
}
