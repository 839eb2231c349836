import type { App } from "../app/app.js";
import type { HubOptions } from "./hub-options.js";

/**
 * The publish API of `sluice hub`: POST /publish, POST /publish/batch, GET
 * /topics/{topic}/history and /presence. (Being built: see issue 23.)
 */
export function publishApi(_app: App, _options: HubOptions): void {}
