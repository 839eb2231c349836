import { importPeer } from "../util/optional-peer.js";

/**
 * @internal jose, an optional peer dependency: importing sluice/jwt without it fails with an
 * error that says to install it.
 */
export const jose = await importPeer("jose", "sluice/jwt", () => import("jose"));
