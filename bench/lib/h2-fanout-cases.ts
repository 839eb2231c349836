import type { H2FanoutConfig } from "./h2-fanout-config.js";
import type { ServedProtocol } from "./h2-server.js";
import type { Carrier } from "./h2-subscriber-pool.js";

/** One measured case of bench/h2-fanout.ts: a shape, a server protocol, how streams are carried. */
export interface H2Case {
  /** The table it goes in: "SSE over TLS", "NDJSON in cleartext"... */
  scenario: string;
  /** Its row: "HTTP/1.1", "h2, 100 streams per connection"... */
  label: string;
  /** The row the ratios divide by (HTTP/1.1) or not. */
  baseline: boolean;
  shape: "sse" | "ndjson";
  protocol: ServedProtocol;
  tls: boolean;
  carrier: Carrier;
  connections: number;
}

const SHAPE_NAMES = { sse: "SSE", ndjson: "NDJSON" };
const TRANSPORT_NAMES = { tls: "over TLS", cleartext: "in cleartext" };

/**
 * Every case of a run: per shape and transport, HTTP/1.1 (a connection per stream), h2 with
 * `perConnection` streams per connection and, when `single`, h2 with one stream per connection.
 * Over TLS, HTTP/1.1 is served by `tls` alone (HTTPS/1.1) and h2 by `http2: true`; in cleartext
 * by a plain server and `http2: "cleartext"` (h2c).
 */
export function h2Cases(config: H2FanoutConfig): H2Case[] {
  const cases: H2Case[] = [];
  for (const transport of config.transports) {
    const tls = transport === "tls";
    const h2 = tls ? "h2" : "h2c";
    for (const shape of config.shapes) {
      const scenario = `${SHAPE_NAMES[shape]} ${TRANSPORT_NAMES[transport]}`;
      const common = { scenario, shape, tls };
      cases.push({
        ...common,
        label: tls ? "HTTPS/1.1" : "HTTP/1.1",
        baseline: true,
        protocol: tls ? "https" : "http1",
        carrier: { kind: "http1" },
        connections: config.streams,
      });
      cases.push({
        ...common,
        label: `${h2}, ${config.perConnection} streams per connection`,
        baseline: false,
        protocol: h2,
        carrier: { kind: "h2", streamsPerConnection: config.perConnection },
        connections: config.streams / config.perConnection,
      });
      if (config.single && config.perConnection > 1) {
        cases.push({
          ...common,
          label: `${h2}, 1 stream per connection`,
          baseline: false,
          protocol: h2,
          carrier: { kind: "h2", streamsPerConnection: 1 },
          connections: config.streams,
        });
      }
    }
  }
  return cases;
}
