import type { Broker } from "./broker.js";
import type { BrokerPresence, PresenceMember } from "./broker-presence.js";
import { checkInfoJson, memberJson, parseMember } from "./presence-member.js";

/** A member as the store keeps it: parsed for `members()`, and its JSON for the events. */
interface Kept {
  readonly member: PresenceMember;
  readonly json: string;
}

/**
 * Presence in one process: a map of members per topic, gone with the topic's last member.
 * Members exist only while their connection follows the topic (it leaves when it stops or
 * closes), so memory is bounded by the connections' subscriptions times the info cap.
 */
export class MemoryPresence implements BrokerPresence {
  readonly #topics = new Map<string, Map<string, Kept>>();

  constructor(private readonly publish: Broker["publish"]) {}

  async join(topic: string, clientId: string, infoJson: string): Promise<PresenceMember> {
    checkInfoJson(infoJson, "presence info");
    const json = memberJson(clientId, infoJson, Date.now());
    const member = parseMember(json);
    let members = this.#topics.get(topic);
    if (!members) {
      members = new Map();
      this.#topics.set(topic, members);
    }
    // A client joining again is one member, its info replaced (and announced again).
    members.delete(clientId);
    members.set(clientId, { member, json });
    await this.publish(topic, "join", json, { presence: "join" });
    return member;
  }

  async leave(topic: string, clientId: string): Promise<void> {
    const members = this.#topics.get(topic);
    const kept = members?.get(clientId);
    if (!members || !kept) return;
    members.delete(clientId);
    if (members.size === 0) this.#topics.delete(topic);
    await this.publish(topic, "leave", kept.json, { presence: "leave" });
  }

  async members(topic: string): Promise<PresenceMember[]> {
    const members = this.#topics.get(topic);
    // A Map keeps insertion order: joins come in order (a join again moves the member last).
    return members ? [...members.values()].map((kept) => kept.member) : [];
  }

  /** The broker closed: nobody is present any more. */
  clear(): void {
    this.#topics.clear();
  }
}
