import type { Broker } from "./broker.js";
import type { BrokerPresence } from "./broker-presence.js";

/** The broker's presence store, or an Error saying the broker has none (`what` asked). */
export function presenceOf(broker: Broker, what: string): BrokerPresence {
  if (broker.presence) return broker.presence;
  throw new Error(
    `${what}: the App's broker keeps no presence (a Broker without a \`presence\` store): use memoryBroker() or redisBroker(), or give your broker a BrokerPresence`,
  );
}
