import { type Capability, type Peer, type RunningPeer, startPeer } from "./peers.js";

/**
 * Runs one scenario on servers started for it alone. A scenario must not inherit another's
 * state: after a saturation run, V8 in a server that took the flood (sluice and Fastify
 * alike) was seen to keep `process.nextTick` several times slower (12 % of its busy time
 * in (f), against 1.3 % in a fresh process), which had cost the JSON figure a third.
 */
export type FreshPeers = <T>(
  capability: Capability,
  use: (peers: RunningPeer[]) => Promise<T>,
) => Promise<T>;

export function freshPeers(
  chosen: readonly Peer[],
  nodeArgs: string[],
  env: Record<string, string>,
): FreshPeers {
  return async (capability, use) => {
    const serving = chosen.filter((peer) => peer.serves.includes(capability));
    const started = await Promise.allSettled(serving.map((peer) => startPeer(peer, nodeArgs, env)));
    const peers = started.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : [],
    );
    try {
      const failed = started.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
      return await use(peers);
    } finally {
      await Promise.all(peers.map((peer) => peer.server.stop()));
    }
  };
}
