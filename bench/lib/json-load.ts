import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { openWindow, type Window } from "./cpu.js";
import { completeResponseLength, getRequest } from "./http-response.js";

export interface JsonLoadOptions {
  port: number;
  /** Server process whose CPU time is read. */
  pid: number;
  path: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface JsonLoadResult {
  responses: number;
  window: Window;
}

/**
 * One keep-alive connection with one request in flight: sends, waits for the complete
 * response (by Content-Length), counts it, sends the next.
 */
class Connection {
  responses = 0;
  error: Error | undefined;
  private buffered: Buffer | undefined;
  private running = true;

  constructor(
    private readonly socket: Socket,
    private readonly request: Buffer,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("server closed the connection")));
  }

  start(): void {
    this.socket.write(this.request);
  }

  stop(): void {
    this.running = false;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const buffer = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    let length: number;
    try {
      length = completeResponseLength(buffer);
      if (length !== -1 && length !== buffer.length) throw new Error("unexpected extra bytes");
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.buffered = length === -1 ? buffer : undefined;
    if (length === -1) return;
    this.responses++;
    if (this.running) this.socket.write(this.request);
  }

  private fail(error: Error): void {
    if (!this.running) return;
    this.error ??= error;
    this.stop();
  }
}

/** Runs `connections` clients for warm-up then `duration`; counts responses in the window. */
export async function runJsonLoad(options: JsonLoadOptions): Promise<JsonLoadResult> {
  const request = getRequest(options.path);
  const connections = await Promise.all(
    Array.from({ length: options.connections }, () => open(options.port, request)),
  );
  for (const connection of connections) connection.start();
  await sleep(options.warmupMs);
  const before = total(connections);
  const closeWindow = openWindow(options.pid);
  await sleep(options.durationMs);
  const window = closeWindow();
  const responses = total(connections) - before;
  for (const connection of connections) connection.stop();
  const error = connections.find((connection) => connection.error)?.error;
  if (error) throw error;
  return { responses, window };
}

async function open(port: number, request: Buffer): Promise<Connection> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  return new Connection(socket, request);
}

function total(connections: Connection[]): number {
  return connections.reduce((sum, connection) => sum + connection.responses, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
