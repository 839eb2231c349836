import type { Broker } from "./broker.js";

const BROKER_METHODS = [
  "publish",
  "history",
  "replay",
  "subscribe",
  "compareIds",
  "close",
] as const;

/** Refuses an AppOptions.broker that is not a Broker (a forgotten call: `memoryBroker`). */
export function checkBroker(broker: unknown): Broker | undefined {
  if (broker === undefined) return undefined;
  const missing = BROKER_METHODS.filter(
    (method) => typeof (broker as Record<string, unknown> | null)?.[method] !== "function",
  );
  if (missing.length > 0) {
    throw new TypeError(
      `AppOptions.broker must be a broker such as memoryBroker() or redisBroker(); it lacks ${missing.join(", ")}`,
    );
  }
  return broker as Broker;
}
