import type { Broker, Deliver, Replay, StoredMessage } from "../../src/index.js";

/**
 * A Broker as someone might write one for a test: no log (history and replay are empty) and
 * synchronous live delivery to whoever subscribed. Ids are `1-<n>`. Tests extend `publish`.
 */
export class LiveOnlyBroker implements Broker {
  protected readonly deliverers = new Map<string, Set<Deliver>>();
  private sequence = 0;

  async publish(topic: string, event: string | undefined, json: string): Promise<string> {
    const message = this.nextMessage(topic, event, json);
    for (const deliver of this.subscribersOf(topic)) deliver(message);
    return message.id;
  }

  protected nextMessage(topic: string, event: string | undefined, json: string): StoredMessage {
    return { topic, id: `1-${++this.sequence}`, event, json };
  }

  protected subscribersOf(topic: string): Iterable<Deliver> {
    return this.deliverers.get(topic) ?? [];
  }

  async history(): Promise<StoredMessage[]> {
    return [];
  }

  async replay(): Promise<Replay> {
    return { kind: "messages", messages: [] };
  }

  async subscribe(topic: string, deliver: Deliver): Promise<() => void> {
    const set = this.deliverers.get(topic) ?? new Set();
    this.deliverers.set(topic, set);
    set.add(deliver);
    return () => set.delete(deliver);
  }

  compareIds(a: string, b: string): number {
    return Number(a.slice(2)) - Number(b.slice(2));
  }

  async close(): Promise<void> {}
}
