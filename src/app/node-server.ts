import { createServer as createHttpServer, type Server } from "node:http";
import {
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type SecureServerOptions,
  type ServerOptions,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { NodeRequest, NodeResponse } from "../http/node-http.js";
import type { AppSettings } from "./app-options.js";
import type { ListenProtocol } from "./listen-protocol.js";

type RequestListener = (raw: NodeRequest, response: NodeResponse) => void;

/** The server made, with what it serves: HTTP/1.1 (with or without TLS), h2 (and HTTP/1.1), h2c. */
export type NodeServer =
  | { readonly kind: "http1"; readonly server: Server }
  | { readonly kind: "h2"; readonly server: Http2SecureServer }
  | { readonly kind: "h2c"; readonly server: Http2Server };

/**
 * Makes the server `listen()` serves on, with the app's timeouts and limits: the one place a
 * server is created, whatever the protocol. HTTP/1.1, whether on its own or beside HTTP/2 on
 * a TLS port, gets Node's HTTP/1.1 limits; h2 streams get the header limits as h2 settings.
 */
export function createNodeServer(
  protocol: ListenProtocol,
  settings: AppSettings,
  onRequest: RequestListener,
): NodeServer {
  switch (protocol.kind) {
    case "http1": {
      const options = http1Options(settings);
      const server = protocol.tls
        ? createHttpsServer({ ...protocol.tls, ...options }, onRequest)
        : createHttpServer(options, onRequest);
      return { kind: "http1", server: withHttp1Limits(server, settings) };
    }
    case "h2": {
      const options: SecureServerOptions = {
        ...protocol.tls,
        ...http2Options(settings, protocol.webSockets),
        allowHTTP1: true,
      };
      return {
        kind: "h2",
        server: withHttp1Limits(createSecureServer(options, onRequest), settings),
      };
    }
    case "h2c":
      return {
        kind: "h2c",
        server: createH2cServer(http2Options(settings, protocol.webSockets), onRequest),
      };
  }
}

function http1Options(settings: AppSettings) {
  return {
    headersTimeout: settings.headersTimeout,
    requestTimeout: settings.requestTimeout,
    maxHeaderSize: settings.maxHeaderSize,
    // 0 disables a timeout; the check must not then run every millisecond.
    connectionsCheckingInterval: Math.min(1000, settings.headersTimeout || 1000),
    keepAliveTimeout: settings.keepAliveTimeout,
  };
}

/**
 * h2's counterparts of the HTTP/1.1 head limits, and whether WebSockets are offered. A stream over them is reset by Node
 * (ENHANCE_YOUR_CALM); within them, one with more than `maxHeadersCount` fields still gets
 * the 431 HTTP/1.1 gets (RequestDispatch counts fields without the pseudo-headers). Then the
 * bounds on what one connection may ask of the server (docs/security.md, "HTTP/2").
 */
function http2Options(settings: AppSettings, webSockets: boolean): ServerOptions {
  return {
    // Four pseudo-headers, and one more field than the limit, so that passing it is seen.
    maxHeaderListPairs: settings.maxHeadersCount + 5,
    ...HTTP2_SESSION_LIMITS,
    settings: {
      maxHeaderListSize: settings.maxHeaderSize,
      maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS,
      // RFC 8441: WebSockets on streams (extended CONNECT), offered to clients in SETTINGS.
      enableConnectProtocol: webSockets,
    },
  };
}

/**
 * Streams one h2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS), as most
 * servers do; Node's default is 2^32 - 1. Past it a stream is refused (REFUSED_STREAM), and
 * a client that goes on opening them past what it acknowledged loses the connection.
 */
const HTTP2_MAX_CONCURRENT_STREAMS = 100;

/**
 * What ends an h2 session that misbehaves, set here (at Node 20's values) so that the docs and
 * test/http2-hostile.test.ts hold them whatever a later Node defaults to: streams refused
 * (rapid reset and stream floods end there), invalid frames received, entries in one SETTINGS
 * frame. The flood of frames that each want an acknowledgement (PING, SETTINGS) is ended by
 * nghttp2 itself (1 000 acknowledgements queued for a peer that does not read them).
 */
const HTTP2_SESSION_LIMITS = {
  maxSessionRejectedStreams: 100,
  maxSessionInvalidFrames: 1000,
  maxSettings: 32,
} as const;

/**
 * The HTTP/1.1 limits on a server whose HTTP/1.1 connections node:http's parser serves:
 * node:http(s) takes most as options, an HTTP/2 server with allowHTTP1 reads them from these
 * same properties.
 */
function withHttp1Limits<S extends Server | Http2SecureServer>(
  server: S,
  settings: AppSettings,
): S {
  const http1 = server as S & Http1Limits;
  http1.headersTimeout = settings.headersTimeout;
  http1.requestTimeout = settings.requestTimeout;
  http1.keepAliveTimeout = settings.keepAliveTimeout;
  http1.maxHeaderSize = settings.maxHeaderSize;
  // How often the head and request timeouts are checked (read when listening starts).
  http1.connectionsCheckingInterval = Math.min(1000, settings.headersTimeout || 1000);
  // One more than the limit is parsed, so that going over it is seen (Node drops the rest).
  // (Capped: Node doubles it into an int32; the head size bounds the count far below anyway.)
  http1.maxHeadersCount = Math.min(settings.maxHeadersCount + 1, 1_000_000);
  return server;
}

/** What node:http's parser reads from the server it serves connections for. */
interface Http1Limits {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxHeaderSize: number;
  maxHeadersCount: number;
  connectionsCheckingInterval: number;
}
