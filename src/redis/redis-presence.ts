import type { Redis } from "ioredis";
import type { Broker } from "../topics/broker.js";
import type { BrokerPresence, PresenceMember } from "../topics/broker-presence.js";
import { byJoinTime, checkInfoJson, memberJson, parseMember } from "../topics/presence-member.js";
import { brokerError } from "./errors.js";
import type { BrokerLogger } from "./options.js";
import {
  JOIN_SCRIPT,
  LEAVE_SCRIPT,
  MEMBERS_SCRIPT,
  PRESENCE_COMMANDS,
  REFRESH_SCRIPT,
  SWEEP_SCRIPT,
} from "./redis-presence-scripts.js";

/** Client ids per refresh script call: one call stays short however big the topic. */
const REFRESH_BATCH = 500;
/** Topics per sweep script call (two keys each). */
const SWEEP_BATCH = 200;

type Script<Result> = (...keysAndArgs: string[]) => Promise<Result>;

/** A pipeline of the command connection, with the scripts defined on it. */
type ScriptPipeline = Record<string, (...keysAndArgs: (string | number)[]) => unknown> & {
  exec(): Promise<[Error | null, unknown][] | null>;
};

/** The command connection with the presence scripts defined on it (and on its pipelines). */
type PresenceConnection = Redis & {
  [PRESENCE_COMMANDS.join]: Script<number>;
  [PRESENCE_COMMANDS.leave]: Script<string | null>;
  [PRESENCE_COMMANDS.members]: Script<[removed: string[], present: string[]]>;
};

/** What the presence store needs of its broker. */
export interface PresenceHost {
  readonly commands: Redis;
  readonly prefix: string;
  /** ms between two refreshes of this process's members (their TTL is twice as long). */
  readonly refresh: number;
  readonly publish: Broker["publish"];
  /** Rejects unless the command connection can take a command. */
  ready(): Promise<void>;
  isClosed(): boolean;
  /** The topics this process delivers live: it sweeps their expired members too. */
  followedTopics(): Iterable<string>;
  readonly logger: BrokerLogger | undefined;
}

/**
 * Presence on Redis (see redis-presence-scripts.ts for the keys). Every `refresh` ms this
 * process pushes back the expiry of its own members (TTL: two intervals) and sweeps the
 * expired members of the topics it has members in or delivers live, publishing a `leave` for
 * each it removed. So the members of a process that died without leaving are gone from
 * `members()` two intervals after its last refresh at most, and their `leave` goes out by the
 * next sweep: between one and three intervals after it died.
 */
export class RedisPresence implements BrokerPresence {
  /** This process's members: topic → client id → member JSON. */
  readonly #own = new Map<string, Map<string, string>>();
  /** Joins and leaves under way: close() waits for them, so their events go out. */
  readonly #pending = new Set<Promise<unknown>>();
  readonly #commands: PresenceConnection;
  readonly #memberTtl: string;
  readonly #keyTtl: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly host: PresenceHost) {
    this.#commands = host.commands as PresenceConnection;
    for (const [name, lua] of [
      [PRESENCE_COMMANDS.join, JOIN_SCRIPT],
      [PRESENCE_COMMANDS.leave, LEAVE_SCRIPT],
      [PRESENCE_COMMANDS.refresh, REFRESH_SCRIPT],
      [PRESENCE_COMMANDS.sweep, SWEEP_SCRIPT],
      [PRESENCE_COMMANDS.members, MEMBERS_SCRIPT],
    ] as const) {
      host.commands.defineCommand(name, {
        numberOfKeys: name === PRESENCE_COMMANDS.sweep ? undefined : 2,
        lua,
      });
    }
    this.#memberTtl = String(2 * host.refresh);
    // Longer than a member's TTL plus a sweep: the keys never vanish before the sweep that
    // publishes their members' leave.
    this.#keyTtl = String(4 * host.refresh);
  }

  join(topic: string, clientId: string, infoJson: string): Promise<PresenceMember> {
    checkInfoJson(infoJson, "presence info");
    const json = memberJson(clientId, infoJson, Date.now());
    let members = this.#own.get(topic);
    if (!members) {
      members = new Map();
      this.#own.set(topic, members);
    }
    members.set(clientId, json);
    this.wake();
    return this.#track(this.#join(topic, clientId, json));
  }

  leave(topic: string, clientId: string): Promise<void> {
    const members = this.#own.get(topic);
    members?.delete(clientId);
    if (members?.size === 0) this.#own.delete(topic);
    return this.#track(this.#leave(topic, clientId));
  }

  async members(topic: string): Promise<PresenceMember[]> {
    let removed: string[];
    let present: string[];
    try {
      await this.host.ready();
      [removed, present] = await this.#commands[PRESENCE_COMMANDS.members](...this.#keysOf(topic));
    } catch (error) {
      throw brokerError(
        error,
        `the presence of topic "${topic}" could not be read`,
        this.host.isClosed(),
      );
    }
    this.#announceLeaves(topic, removed);
    return present.map(parseMember).sort(byJoinTime);
  }

  /**
   * The broker is closing: the refreshing stops, joins and leaves under way finish (so their
   * events go out), and the members this process still has leave.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const leaving = [...this.#own].flatMap(([topic, members]) =>
      [...members.keys()].map((clientId) => this.leave(topic, clientId)),
    );
    await Promise.allSettled([...this.#pending, ...leaving]);
  }

  async #join(topic: string, clientId: string, json: string): Promise<PresenceMember> {
    try {
      await this.host.ready();
      const [hash, expiry] = this.#keysOf(topic);
      await this.#commands[PRESENCE_COMMANDS.join](
        hash,
        expiry,
        clientId,
        json,
        this.#memberTtl,
        this.#keyTtl,
      );
    } catch (error) {
      if (this.#own.get(topic)?.get(clientId) === json) this.leave(topic, clientId).catch(() => {});
      throw brokerError(
        error,
        `could not join the presence of topic "${topic}"`,
        this.host.isClosed(),
      );
    }
    await this.host.publish(topic, "join", json, { presence: "join" });
    return parseMember(json);
  }

  async #leave(topic: string, clientId: string): Promise<void> {
    let removed: string | null;
    try {
      await this.host.ready();
      removed = await this.#commands[PRESENCE_COMMANDS.leave](...this.#keysOf(topic), clientId);
    } catch (error) {
      throw brokerError(
        error,
        `could not leave the presence of topic "${topic}"`,
        this.host.isClosed(),
      );
    }
    if (removed !== null) await this.host.publish(topic, "leave", removed, { presence: "leave" });
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    const done = () => this.#pending.delete(work);
    work.then(done, done);
    return work;
  }

  #keysOf(topic: string): [hash: string, expiry: string] {
    const { prefix } = this.host;
    return [`${prefix}presence:${topic}`, `${prefix}presence-expiry:${topic}`];
  }

  /**
   * @internal Starts the refresh and sweep (the broker calls it when it follows a topic):
   * one timer for every topic, running while this process has members or follows topics.
   */
  wake(): void {
    if (this.#timer !== undefined || this.host.isClosed()) return;
    this.#timer = setInterval(() => void this.#tick(), this.host.refresh);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.host.isClosed() || this.host.commands.status !== "ready") return;
    const topics = new Set(this.#own.keys());
    for (const topic of this.host.followedTopics()) topics.add(topic);
    if (topics.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    await Promise.allSettled([this.#refresh(), this.#sweep([...topics])]);
  }

  /** Pushes back this process's members' expiry; joins again those swept meanwhile. */
  async #refresh(): Promise<void> {
    const pipeline = this.host.commands.pipeline() as unknown as ScriptPipeline;
    const batches: { topic: string }[] = [];
    for (const [topic, members] of this.#own) {
      const ids = [...members.keys()];
      for (let start = 0; start < ids.length; start += REFRESH_BATCH) {
        pipeline[PRESENCE_COMMANDS.refresh]?.(
          ...this.#keysOf(topic),
          this.#memberTtl,
          this.#keyTtl,
          ...ids.slice(start, start + REFRESH_BATCH),
        );
        batches.push({ topic });
      }
    }
    if (batches.length === 0) return;
    const results = (await pipeline.exec().catch(() => null)) ?? [];
    results.forEach(([error, missing], index) => {
      const topic = (batches[index] as { topic: string }).topic;
      if (error || !Array.isArray(missing)) return;
      for (const clientId of missing as string[]) {
        const json = this.#own.get(topic)?.get(clientId);
        if (json !== undefined) void this.#track(this.#join(topic, clientId, json)).catch(() => {});
      }
    });
  }

  /** Removes the expired members of `topics` and publishes their leave. */
  async #sweep(topics: string[]): Promise<void> {
    const pipeline = this.host.commands.pipeline() as unknown as ScriptPipeline;
    const batches: string[][] = [];
    for (let start = 0; start < topics.length; start += SWEEP_BATCH) {
      const batch = topics.slice(start, start + SWEEP_BATCH);
      pipeline[PRESENCE_COMMANDS.sweep]?.(
        batch.length * 2,
        ...batch.flatMap((topic) => this.#keysOf(topic)),
      );
      batches.push(batch);
    }
    const results = (await pipeline.exec().catch(() => null)) ?? [];
    results.forEach(([error, removed], index) => {
      const batch = batches[index] as string[];
      if (error || !Array.isArray(removed)) return;
      removed.forEach((members, at) => {
        this.#announceLeaves(batch[at] as string, members as string[]);
      });
    });
  }

  /** Publishes the leave of members this process removed (it alone removed them). */
  #announceLeaves(topic: string, removed: string[]): void {
    for (const json of removed) {
      this.host.publish(topic, "leave", json, { presence: "leave" }).catch((error: unknown) => {
        this.host.logger?.warn(
          { err: error, topic },
          "Could not publish the leave of an expired presence member",
        );
      });
    }
  }
}
