import type { Broker, Deliver, HistoryQuery, Replay, StoredMessage } from "./broker.js";
import { checkHistory } from "./history-option.js";
import { compareStreamIds, streamIdParts } from "./stream-id.js";
import { TopicLog } from "./topic-log.js";

export interface MemoryBrokerOptions {
  /** Messages each topic keeps for replay and history. Default 1 000. */
  history?: number;
}

const DEFAULT_HISTORY = 1000;

/**
 * Topics inside one process: a ring buffer per topic and synchronous delivery. Ids are
 * `<start time>-<n>`: a client that comes back to a restarted process with an id of the old
 * one gets a reset rather than messages that only look like the ones it missed.
 */
export function memoryBroker(options: MemoryBrokerOptions = {}): Broker {
  if (options === null || typeof options !== "object") {
    throw new TypeError("memoryBroker() takes an options object: { history? }");
  }
  return new MemoryBroker(checkHistory(options.history ?? DEFAULT_HISTORY, "memoryBroker"));
}

class MemoryBroker implements Broker {
  private readonly epoch = String(Date.now());
  private readonly logs = new Map<string, TopicLog>();
  private readonly deliverers = new Map<string, Set<Deliver>>();
  private closed = false;

  constructor(private readonly capacity: number) {}

  async publish(topic: string, event: string | undefined, json: string): Promise<string> {
    if (this.closed)
      throw new Error(`The broker is closed; the message to "${topic}" was not published`);
    const log = this.logFor(topic);
    const message: StoredMessage = { topic, id: this.idOf(log.lastSequence + 1), event, json };
    log.append(message);
    const deliverers = this.deliverers.get(topic);
    if (deliverers) for (const deliver of deliverers) deliverSafely(deliver, message);
    return message.id;
  }

  async history(topic: string, query: HistoryQuery): Promise<StoredMessage[]> {
    const log = this.logs.get(topic);
    if (!log) return [];
    if (query.after === undefined) return log.newest(query.limit);
    const after = this.sequenceOf(query.after);
    return after === undefined ? [] : log.after(after, query.limit);
  }

  async replay(topic: string, lastId: string): Promise<Replay> {
    const log = this.logs.get(topic);
    const last = log?.lastSequence ?? 0;
    const head = this.idOf(last);
    const sequence = this.sequenceOf(lastId);
    if (sequence === undefined || sequence > last)
      return { kind: "reset", reason: "unknown", head };
    // The message right after the client's is still here: nothing in between was trimmed.
    if (log && sequence + 1 < log.firstSequence) return { kind: "reset", reason: "trimmed", head };
    return { kind: "messages", messages: log ? log.after(sequence, Number.MAX_SAFE_INTEGER) : [] };
  }

  async subscribe(topic: string, deliver: Deliver): Promise<() => void> {
    let deliverers = this.deliverers.get(topic);
    if (!deliverers) {
      deliverers = new Set();
      this.deliverers.set(topic, deliverers);
    }
    deliverers.add(deliver);
    return () => {
      deliverers.delete(deliver);
      if (deliverers.size === 0 && this.deliverers.get(topic) === deliverers) {
        this.deliverers.delete(topic);
      }
    };
  }

  compareIds(a: string, b: string): number {
    return compareStreamIds(a, b);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deliverers.clear();
  }

  private logFor(topic: string): TopicLog {
    let log = this.logs.get(topic);
    if (!log) {
      log = new TopicLog(this.capacity);
      this.logs.set(topic, log);
    }
    return log;
  }

  private idOf(sequence: number): string {
    return `${this.epoch}-${sequence}`;
  }

  /** The sequence number in one of this broker's ids; undefined for any other string. */
  private sequenceOf(id: string): number | undefined {
    const parts = streamIdParts(id);
    if (!parts || parts[0] !== this.epoch) return undefined;
    const sequence = Number(parts[1]);
    return Number.isSafeInteger(sequence) ? sequence : undefined;
  }
}

/** One subscriber's failure must not keep a message from the others. */
function deliverSafely(deliver: Deliver, message: StoredMessage): void {
  try {
    deliver(message);
  } catch {
    // Deliverers belong to the App's fan-out, which catches its own subscribers' errors.
  }
}
