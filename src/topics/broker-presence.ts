/**
 * A member of a topic's presence: one client (a connection: two tabs are two members), the
 * info the app gave it when it joined, and when it joined (ms since the epoch).
 */
export interface PresenceMember {
  readonly clientId: string;
  readonly info: unknown;
  readonly since: number;
}

/**
 * A broker's presence store: who is subscribed to each topic with presence, across every
 * process. Joining and leaving publish a live-only presence event on the topic (see
 * StoredMessage.presence) whose JSON is the PresenceMember; subscribers that asked for
 * join/leave events get it. A process that stops without leaving (SIGKILL) has its members
 * leave by themselves within a bound the broker documents.
 */
export interface BrokerPresence {
  /** Adds a member (the info as JSON text) and publishes its join; resolves the member. */
  join(topic: string, clientId: string, infoJson: string): Promise<PresenceMember>;
  /** Removes a member and publishes its leave (nothing when it was not a member). */
  leave(topic: string, clientId: string): Promise<void>;
  /** The topic's members, oldest first. */
  members(topic: string): Promise<PresenceMember[]>;
}
