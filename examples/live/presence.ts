// Who is in each chat room. A connection is in one room at a time, from its `join` call until
// it joins another, calls `leave` or closes. Each process knows its own connections and hears
// the others' through their cluster reports (cluster.ts); it publishes the merged list of
// names to the room's presence topic ("presence:<room>") whenever its view of it changes, and
// the page follows that topic. Every process publishes the same merged list, so a change is
// seen once per process: the page just shows the latest.
import type { App } from "sluice";
import type { Cluster } from "./cluster.js";

export const presenceTopic = (room: string) => `presence:${room}`;

export class Presence {
  /** room -> client id -> name, on this process */
  private readonly members = new Map<string, Map<string, string>>();
  /** client id -> its room */
  private readonly roomOf = new Map<string, string>();
  /**
   * room -> the list last published from here. Empty at start, so the first refresh
   * publishes every room: a list left in the log by a process that died is replaced.
   */
  private readonly published = new Map<string, string>();
  private reportQueued = false;

  constructor(
    private readonly app: App,
    private readonly cluster: Cluster,
    private readonly rooms: readonly string[],
  ) {
    cluster.onPeerRooms = () => this.refresh();
  }

  join(clientId: string, room: string, name: string): void {
    if (this.roomOf.get(clientId) === room) return;
    this.remove(clientId);
    const members = this.members.get(room) ?? new Map<string, string>();
    this.members.set(room, members);
    members.set(clientId, name);
    this.roomOf.set(clientId, room);
    this.changed();
  }

  leave(clientId: string): void {
    if (this.remove(clientId)) this.changed();
  }

  /** room -> names of the people in it on this process (what the cluster report carries) */
  local(): Record<string, string[]> {
    const result: Record<string, string[]> = {};
    for (const [room, members] of this.members) result[room] = [...new Set(members.values())];
    return result;
  }

  /** Publishes each room's list where it changed (a server that stopped reporting is gone). */
  refresh(): void {
    for (const room of this.rooms) {
      const names = this.namesIn(room);
      const json = JSON.stringify(names);
      if (this.published.get(room) === json) continue;
      this.published.set(room, json);
      this.cluster.publish(presenceTopic(room), names, { event: "presence" }).catch((error) => {
        this.published.delete(room); // the next refresh tries again
        this.app.logger.warn({ err: error }, "presence publish failed");
      });
    }
  }

  private namesIn(room: string): string[] {
    const names = new Set(this.members.get(room)?.values() ?? []);
    for (const peer of this.cluster.livePeers())
      if (Object.hasOwn(peer.rooms, room)) for (const name of peer.rooms[room]) names.add(name);
    return [...names].sort((a, b) => a.localeCompare(b));
  }

  private remove(clientId: string): boolean {
    const room = this.roomOf.get(clientId);
    if (room === undefined) return false;
    this.roomOf.delete(clientId);
    const members = this.members.get(room);
    members?.delete(clientId);
    if (members?.size === 0) this.members.delete(room);
    return true;
  }

  private changed(): void {
    this.refresh();
    this.reportSoon();
  }

  /** Tells the other processes about a join or leave now rather than at the next tick. */
  private reportSoon(): void {
    if (this.reportQueued) return;
    this.reportQueued = true;
    setImmediate(() => {
      this.reportQueued = false;
      this.cluster
        .report(this.local())
        .catch((error) => this.app.logger.warn({ err: error }, "presence report failed"));
    });
  }
}
