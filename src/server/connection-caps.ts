import type { SluiceRequest } from "../http/request.js";
import { addressGroup, checkIpv6Prefix } from "./ip-prefix.js";

export interface ConnectionCapOptions {
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  clientAddress?: (request: SluiceRequest) => string;
  /** IPv6 clients are counted by this many leading bits of their address (default 64). */
  ipv6Prefix?: number;
}

/** A long-lived connection that was let in: `release()` gives its place back (once). */
export type ConnectionSlot = { release(): void };

/** A connection that would pass a cap: which one, and what to tell the client. */
export interface ConnectionRefusal {
  readonly limit: "maxConnections" | "maxConnectionsPerIp";
  readonly message: string;
}

/** How long a refused client is asked to wait before it tries again (Retry-After), in seconds. */
export const RETRY_AFTER_SECONDS = 5;

const GLOBAL_REFUSAL: ConnectionRefusal = {
  limit: "maxConnections",
  message: "Too many connections; try again later",
};
const ADDRESS_REFUSAL: ConnectionRefusal = {
  limit: "maxConnectionsPerIp",
  message: "Too many connections from your address; try again later",
};

/**
 * The caps on long-lived connections (SSE streams and WebSockets): how many are open in all
 * and from each client address. A place is taken when a connection is let in and given back
 * when it ends, however it ends.
 */
export class ConnectionCaps {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  private readonly max: number;
  private readonly maxPerAddress: number;
  private readonly clientAddress: ((request: SluiceRequest) => string) | undefined;
  private readonly ipv6Prefix: number;

  private constructor(options: ConnectionCapOptions, ipv6Prefix: number) {
    this.max = options.maxConnections ?? Number.POSITIVE_INFINITY;
    this.maxPerAddress = options.maxConnectionsPerIp ?? Number.POSITIVE_INFINITY;
    this.clientAddress = options.clientAddress;
    this.ipv6Prefix = ipv6Prefix;
  }

  /** The limits the options ask for (checked), or undefined when there are none to keep. */
  static from(options: ConnectionCapOptions): ConnectionCaps | undefined {
    checkCap("maxConnections", options.maxConnections);
    checkCap("maxConnectionsPerIp", options.maxConnectionsPerIp);
    const ipv6Prefix = checkIpv6Prefix(options.ipv6Prefix);
    if (options.clientAddress !== undefined && typeof options.clientAddress !== "function") {
      throw new TypeError(
        `clientAddress must be a function (request) => string, got ${typeof options.clientAddress}`,
      );
    }
    const limited =
      (options.maxConnections ?? Number.POSITIVE_INFINITY) < Number.POSITIVE_INFINITY ||
      (options.maxConnectionsPerIp ?? Number.POSITIVE_INFINITY) < Number.POSITIVE_INFINITY;
    return limited ? new ConnectionCaps(options, ipv6Prefix) : undefined;
  }

  /** Takes a place for the request's connection, or says which cap is reached. */
  acquire(request: SluiceRequest): ConnectionSlot | ConnectionRefusal {
    if (this.total >= this.max) return GLOBAL_REFUSAL;
    if (this.maxPerAddress === Number.POSITIVE_INFINITY) {
      this.total++;
      return this.slot(undefined);
    }
    const address = addressGroup(this.addressOf(request), this.ipv6Prefix);
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (fromAddress >= this.maxPerAddress) return ADDRESS_REFUSAL;
    this.total++;
    this.byAddress.set(address, fromAddress + 1);
    return this.slot(address);
  }

  private slot(address: string | undefined): ConnectionSlot {
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.total--;
        if (address === undefined) return;
        const left = (this.byAddress.get(address) ?? 1) - 1;
        if (left === 0) this.byAddress.delete(address);
        else this.byAddress.set(address, left);
      },
    };
  }

  private addressOf(request: SluiceRequest): string {
    const remote = request.raw.socket?.remoteAddress ?? "unknown";
    if (!this.clientAddress) return remote;
    try {
      const address = this.clientAddress(request);
      if (typeof address === "string" && address !== "") return address;
      request.log.error(
        { address },
        "clientAddress did not return a non-empty string; used the socket's address",
      );
    } catch (error) {
      request.log.error({ err: error }, "clientAddress failed; used the socket's address");
    }
    return remote;
  }

  /** Places taken right now. */
  get size(): number {
    return this.total;
  }
}

export function isRefusal(value: ConnectionSlot | ConnectionRefusal): value is ConnectionRefusal {
  return "message" in value;
}

function checkCap(name: string, value: unknown): void {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `${name} must be a positive integer or Infinity (leave it out for no limit), got ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  return typeof value === "number" ? String(value) : `${typeof value} ${JSON.stringify(value)}`;
}
