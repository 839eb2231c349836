import {
  type Contract,
  type ContractMethod,
  type ContractTopicsOutput,
  isContract,
} from "../protocol/contract.js";
import type { SseOptions } from "../sse/sse-options.js";
import type { WebSocketOptions } from "../websocket/websocket-options.js";
import {
  type AccessCheck,
  accessCheck,
  type PublishRule,
  type SubscribeRule,
} from "./access-rule.js";
import { type ContractMethods, contractMethods } from "./contract-methods.js";
import type { RealtimeContext } from "./realtime-context.js";
import { type PresenceRule, presenceRuleOf } from "./realtime-presence.js";

/** A method clients call: its result (JSON) is the reply; a thrown HttpError an error reply. */
export type RealtimeMethod<State extends object = Record<string, unknown>> = (
  params: unknown,
  ctx: RealtimeContext<State>,
) => unknown;

/**
 * The options of `app.realtime(path, options)`. Besides these, the WebSocket route options
 * apply to its sockets (`maxPayload`, `heartbeat`, `origins`, `maxBuffered`, `compression`,
 * `closeTimeout`, `messageRate`); the subprotocols are the protocol's.
 */
export interface RealtimeOptions<State extends object = Record<string, unknown>>
  extends Omit<WebSocketOptions, "protocols" | "requireProtocol"> {
  /**
   * Topics a client may subscribe to (over WebSocket and SSE): patterns (`"dashboard"`,
   * `"chat:*"`, where `*` is one or more characters other than `:`) or a function
   * `(topic, ctx) => boolean | Promise<boolean>` (true allows). Default: the topics the
   * client's token lists for subscribing, with `jwtAuth({ topicsClaim })` (read at each
   * subscribe: a refreshed token's apply to the next); none without such a claim.
   */
  subscribe?: readonly string[] | SubscribeRule<State>;
  /**
   * Topics a client may publish to: patterns as for `subscribe` (checked before the data), or
   * a function `(topic, data, ctx) => boolean | Promise<boolean>` that also sees the data:
   * when the topic has a schema (`app.topic()`, a contract), the function runs after it, on
   * its output, so it never sees data the schema refuses. Default: the topics the client's
   * token lists for publishing, with `jwtAuth({ topicsClaim })`; none without such a claim.
   */
  publish?: readonly string[] | PublishRule<State>;
  /** Methods clients may `call`, by name. Default: none. */
  methods?: Readonly<Record<string, RealtimeMethod<State>>>;
  /** Topics one connection may follow at once; a subscribe beyond is refused. Default 1 000. */
  maxSubscriptions?: number;
  /** Ms a method may take before its caller gets a `timeout` error reply. Default 30 000. */
  callTimeout?: number;
  /** The SSE side's `keepAlive` and `retry` (as `app.sse()` routes have them). */
  sse?: Pick<SseOptions, "keepAlive" | "retry">;
  /**
   * Called once per client, WebSocket or SSE, after middleware and before anything is sent
   * (the welcome frame, the stream's head): keep per-connection state here, and let it go
   * when `ctx.request.signal` aborts (the socket closed, the stream ended). A thrown
   * `HttpError` refuses the client: a WebSocket is closed with 4000 + its status and its
   * message (no retry, docs/protocol.md), an SSE request answered with that status. Any other
   * throw is logged and closes with 1011 (SSE: 500).
   */
  onConnect?: RealtimeConnectHook<State>;
  /**
   * The info a client joins a topic's presence with, when its subscribe asks for presence
   * (WebSocket only): `(ctx, topic, offered) => info` (or a promise of it), any JSON value of
   * at most 4 096 bytes. Take it from the auth principal (`{ name:
   * ctx.request.state.auth.name }`); return `offered` to publish what the client sent, or
   * `undefined` to refuse the subscribe with `forbidden`. Without it, a client that asks to
   * join does, with the info `null`: what it offers is never published unless you say so.
   */
  presence?: PresenceRule<State>;
}

/**
 * The options of `app.realtime(path, options)` with a contract (`defineContract()`): its
 * topics are declared as the App's (`app.topic()`: their schemas validate every publish, the
 * endpoint's and `app.publish()`'s alike; another schema for one of them is a TypeError), and
 * `methods` implements exactly its methods, each given its validated params. Who may
 * subscribe and publish still comes from `subscribe` and `publish` (default: nobody): a
 * contract says what the data is, not who may see it. Clients may publish only to its topics
 * (when it declares some), and a `publish` function sees the data its topic's schema gave.
 *
 * ```ts
 * app.realtime("/rt", {
 *   contract,
 *   subscribe: ["chat:*"],
 *   publish: ["chat:*"],
 *   methods: { rename: ({ name }, ctx) => rename(ctx.request.state.auth, name) },
 * });
 * ```
 */
export type ContractRealtimeOptions<
  C extends Contract,
  State extends object = Record<string, unknown>,
> = Omit<RealtimeOptions<State>, "methods" | "publish"> & {
  /** The endpoint's contract: its topics' and methods' schemas (`defineContract()`). */
  readonly contract: C;
  /**
   * Topics a client may publish to, as `RealtimeOptions.publish`; only the contract's (when
   * it has some: another is `forbidden`). A function gets the data its topic's schema gave.
   */
  readonly publish?: readonly string[] | PublishRule<State, ContractPublishedData<C>>;
} & ([ContractMethod<C>] extends [never]
    ? { readonly methods?: Readonly<Record<string, never>> }
    : {
        /** One implementation per method of the contract, and no other. */
        readonly methods: ContractMethods<C, State>;
      });

/** What a contract endpoint's `publish` function sees: its topics' outputs (`unknown` without topics). */
export type ContractPublishedData<C> = [ContractTopicsOutput<C>] extends [never]
  ? unknown
  : ContractTopicsOutput<C>;

/** See `RealtimeOptions.onConnect`. */
export type RealtimeConnectHook<State extends object = Record<string, unknown>> = (
  ctx: RealtimeContext<State>,
) => void | Promise<void>;

/** The options checked, with their defaults: what an endpoint runs on. */
export interface ResolvedRealtimeOptions {
  readonly contract: Contract | undefined;
  readonly subscribe: AccessCheck;
  readonly publish: AccessCheck;
  /**
   * True for a `publish` function: it runs after the topic's schema, on its output. Lists
   * (and their absence) are checked first, on the topic alone.
   */
  readonly publishRuleSeesData: boolean;
  readonly methods: ReadonlyMap<string, RealtimeMethod<object>>;
  readonly maxSubscriptions: number;
  readonly callTimeout: number;
  /** The WebSocket route's options: the protocol's subprotocols, realtime's messageRate. */
  readonly webSocket: WebSocketOptions;
  readonly sse: SseOptions;
  readonly onConnect: RealtimeConnectHook<object> | undefined;
  readonly presence: PresenceRule<object> | undefined;
}

/**
 * Frames a client may send: a burst of 200, then 200 a second. A real-time client sends few
 * frames (a subscribe per topic, its publishes and calls), and malformed frames count too:
 * a client that floods, well-formed or not, is closed with 1008.
 */
export const DEFAULT_REALTIME_MESSAGE_RATE = Object.freeze({ messages: 200, perMs: 1000 });
const DEFAULT_MAX_SUBSCRIPTIONS = 1000;
const DEFAULT_CALL_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The subprotocol marker bearerAuth and jwtAuth read a token after (see docs/protocol.md). */
const AUTH_MARKER = "bearer";

const REALTIME_KEYS = new Set([
  "subscribe",
  "publish",
  "methods",
  "maxSubscriptions",
  "callTimeout",
  "sse",
  "onConnect",
  "contract",
  "presence",
]);
const WEBSOCKET_KEYS = new Set([
  "maxPayload",
  "heartbeat",
  "origins",
  "maxBuffered",
  "compression",
  "closeTimeout",
  "messageRate",
]);

/**
 * Checks the options when the endpoint is added; a TypeError names the option at fault.
 * `validateOutput`: check contract methods' results (AppOptions.validateOutput).
 */
export function resolveRealtimeOptions(
  path: string,
  options: unknown,
  validateOutput = false,
): ResolvedRealtimeOptions {
  const where = `app.realtime(${JSON.stringify(path)})`;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `${where}: options must be an object ({ subscribe, publish, methods, ... })`,
    );
  }
  const given = options as Record<string, unknown>;
  const webSocket: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (WEBSOCKET_KEYS.has(key)) webSocket[key] = given[key];
    else if (!REALTIME_KEYS.has(key)) {
      throw new TypeError(
        `${where}: unknown option "${key}"; the options are ${[...REALTIME_KEYS, ...WEBSOCKET_KEYS].join(", ")}`,
      );
    }
  }
  webSocket.messageRate ??= DEFAULT_REALTIME_MESSAGE_RATE;
  webSocket.protocols = ["sluice.v1", AUTH_MARKER];
  const contract = contractOf(where, given.contract);
  const methods = methodsOf(where, given.methods);
  return {
    contract,
    subscribe: accessCheck(`${where} subscribe`, given.subscribe, "subscribe"),
    publish: accessCheck(`${where} publish`, given.publish, "publish"),
    publishRuleSeesData: typeof given.publish === "function",
    methods: contract ? contractMethods(where, contract, methods, validateOutput) : methods,
    maxSubscriptions: wholeNumber(
      where,
      "maxSubscriptions",
      given.maxSubscriptions,
      DEFAULT_MAX_SUBSCRIPTIONS,
      Number.MAX_SAFE_INTEGER,
    ),
    callTimeout: wholeNumber(
      where,
      "callTimeout",
      given.callTimeout,
      DEFAULT_CALL_TIMEOUT_MS,
      MAX_TIMER_MS,
    ),
    webSocket: webSocket as WebSocketOptions,
    sse: sseOptionsOf(where, given.sse),
    onConnect: connectHookOf(where, given.onConnect),
    presence: presenceRuleOf(where, given.presence),
  };
}

function contractOf(where: string, contract: unknown): Contract | undefined {
  if (contract === undefined || isContract(contract)) return contract;
  throw new TypeError(
    `${where}: contract must be made by defineContract({ topics, methods }), got ${contract === null ? "null" : typeof contract}`,
  );
}

function connectHookOf(where: string, hook: unknown): RealtimeConnectHook<object> | undefined {
  if (hook === undefined || typeof hook === "function")
    return hook as RealtimeConnectHook<object> | undefined;
  throw new TypeError(`${where}: onConnect must be a function (ctx) => void, got ${typeof hook}`);
}

function methodsOf(where: string, methods: unknown): Map<string, RealtimeMethod<object>> {
  const resolved = new Map<string, RealtimeMethod<object>>();
  if (methods === undefined) return resolved;
  if (methods === null || typeof methods !== "object" || Array.isArray(methods)) {
    throw new TypeError(
      `${where}: methods must be an object of functions { name: (params, ctx) => result }`,
    );
  }
  for (const [name, method] of Object.entries(methods)) {
    if (typeof method !== "function") {
      throw new TypeError(
        `${where}: methods.${name} must be a function (params, ctx) => result, got ${typeof method}`,
      );
    }
    resolved.set(name, method as RealtimeMethod<object>);
  }
  return resolved;
}

function wholeNumber(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new TypeError(
      `${where}: ${name} must be a whole number from 1 to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

function sseOptionsOf(where: string, sse: unknown): SseOptions {
  if (sse === undefined) return {};
  if (sse === null || typeof sse !== "object" || Array.isArray(sse)) {
    throw new TypeError(`${where}: sse must be an object { keepAlive?, retry? }`);
  }
  const { keepAlive, retry } = sse as SseOptions;
  return { keepAlive, retry };
}
