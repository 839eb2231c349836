import type { Logger } from "pino";
import { logSafely } from "../util/logger.js";

/**
 * `app.use("/admin", guard)` guards the path `/admin` alone, as a route would; a user who
 * meant the subtree (Express mounts middleware on a prefix) would leave every route under it
 * open, silently. At start-up, each such pattern with routes beneath it is named, once, with
 * the pattern that guards them.
 */
export function warnExactScopesWithRoutesBeneath(
  exactScopes: readonly string[],
  routePaths: readonly string[],
  logger: Logger,
): void {
  for (const pattern of new Set(exactScopes)) {
    const beneath = pattern === "/" ? [] : routesBeneath(pattern, routePaths);
    if (beneath.length === 0) continue;
    logSafely(
      logger,
      "warn",
      { pattern, routes: beneath },
      `app.use(${JSON.stringify(pattern)}, ...) guards the path ${pattern} only, not the routes ` +
        `beneath it (${beneath.join(", ")}); to guard them too, write ` +
        `app.use(${JSON.stringify(`${pattern}/*`)}, ...)`,
    );
  }
}

function routesBeneath(pattern: string, routePaths: readonly string[]): string[] {
  const prefix = `${pattern}/`;
  return [...new Set(routePaths.filter((path) => path.startsWith(prefix) && path !== prefix))];
}
