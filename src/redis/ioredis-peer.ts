import { importPeer } from "../util/optional-peer.js";

/**
 * @internal ioredis, an optional peer dependency: importing sluice/redis without it fails
 * with an error that says to install it.
 */
export const ioredis = await importPeer("ioredis", "sluice/redis", () => import("ioredis"));
