import type {
  Contract,
  ContractCallParams,
  ContractCallResult,
  ContractMethod,
  ContractPublishData,
  ContractTopic,
  ContractTopicData,
} from "../protocol/contract.js";
import type { Jsonified } from "../protocol/jsonified.js";
import type { CallOptions, PublishOptions, RealtimeClient } from "./realtime.js";
import type { RealtimeMessage, SubscribeOptions, Subscription } from "./subscription.js";

/*
 * The client typed from a contract. Types only: `connect<typeof contract>()` returns the
 * same RealtimeClient, so the browser bundle carries no schema and grows by nothing.
 */

/** A contract's type, or `undefined` for a client typed by nothing (data `unknown`). */
export type ContractOrUntyped = Contract | undefined;

/**
 * A client of a real-time endpoint (what `connect()` returns): typed from contract `C`
 * (`connect<typeof contract>(url)`), or untyped (`connect(url)`: any topic, method and data).
 */
export type Realtime<C extends ContractOrUntyped = undefined> = C extends Contract
  ? ContractRealtime<C>
  : RealtimeClient;

/** A call's arguments: the params may be left out when the method's params accept undefined. */
export type ContractCallArgs<C, M> =
  undefined extends ContractCallParams<C, M>
    ? [params?: ContractCallParams<C, M>, options?: CallOptions]
    : [params: ContractCallParams<C, M>, options?: CallOptions];

/**
 * A client typed from a contract: `subscribe` takes its topics (names, or names matching its
 * patterns) and yields their data as the server stores it (the schema's output, as JSON
 * gives it back: `Jsonified`), `publish` takes what the schema accepts (its input), `call`
 * its methods with their params, resolving their results (JSON too). The server validates
 * each with the same schemas.
 */
export interface ContractRealtime<C extends Contract>
  extends Omit<RealtimeClient, "subscribe" | "publish" | "call"> {
  subscribe<T extends ContractTopic<C>>(
    topic: T,
    options?: SubscribeOptions,
    onMessage?: (message: RealtimeMessage<ContractTopicData<C, T>>) => void,
  ): Subscription<ContractTopicData<C, T>>;
  publish<T extends ContractTopic<C>>(
    topic: T,
    data: ContractPublishData<C, T>,
    options?: PublishOptions,
  ): Promise<string>;
  call<M extends ContractMethod<C>>(
    method: M,
    ...args: ContractCallArgs<C, M>
  ): Promise<Jsonified<ContractCallResult<C, M>>>;
}
