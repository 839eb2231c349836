import { type BrokerPublishOptions, LIVE_ONLY_ID, type StoredMessage } from "./broker.js";

/** Whether a publish is live-only: asked with `store: false`, or a presence event (always). */
export function isLiveOnly(options: BrokerPublishOptions | undefined): boolean {
  return options !== undefined && (options.store === false || options.presence !== undefined);
}

/**
 * The message a live-only publish delivers: the id LIVE_ONLY_ID (""), and the publish's
 * `except` and `presence` when it has them (absent otherwise, as on stored messages).
 */
export function liveOnlyMessage(
  topic: string,
  event: string | undefined,
  json: string,
  options: BrokerPublishOptions | undefined,
): StoredMessage {
  const { except, presence } = options ?? {};
  return {
    topic,
    id: LIVE_ONLY_ID,
    event,
    json,
    ...(except === undefined ? {} : { except }),
    ...(presence === undefined ? {} : { presence }),
  };
}

/** Whether a delivered message is live-only: it moves no cursor and is never a repeat. */
export function isLiveOnlyMessage(message: { readonly id: string }): boolean {
  return message.id === LIVE_ONLY_ID;
}
