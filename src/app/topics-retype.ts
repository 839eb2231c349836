import type { ContractTopics } from "../protocol/contract.js";

/*
 * How `realtime(path, { contract })` returns its receiver typed with the contract's topics,
 * though it is written once for the App and its groups (types only). The App declares a
 * `"~topicsRetype"` member whose `retyped` is the App with `this["added"]` topics: the way an
 * interface takes a type to apply to (`(R & { added: X })["retyped"]`). A group declares none
 * and gets itself back.
 */

/** What a class declares as its `"~topicsRetype"`: itself, typed with `added` topics. */
export interface TopicsRetype {
  readonly added: unknown;
  readonly retyped: unknown;
}

/** `Self` typed with contract `C`'s topics when it declares how (the App), else `Self`. */
export type WithContractTopics<Self, C> = Self extends {
  readonly "~topicsRetype"?: infer R extends TopicsRetype;
}
  ? (R & { readonly added: ContractTopics<C> })["retyped"]
  : Self;
