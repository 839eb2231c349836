/**
 * The mark of an event source that must be ready before its SSE head is sent: a topic
 * subscription, whose client must miss nothing published once it has its 200. Such a source
 * returns, under this symbol, a promise that settles once it is live (or failed, or ended).
 * A symbol rather than an import of the class: the SSE layer knows nothing of topics.
 */
export const readyForHead: unique symbol = Symbol("sluice.readyForHead");

export interface ReadyForHead {
  [readyForHead](): Promise<void>;
}

export function waitsBeforeHead(source: object): source is ReadyForHead {
  return typeof (source as Partial<ReadyForHead>)[readyForHead] === "function";
}
