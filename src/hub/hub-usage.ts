import { HUB_SETTINGS } from "./hub-settings.js";

/** `sluice --help` and `sluice hub --help`: every setting, its variable, file key and default. */
export function hubUsage(): string {
  const lines = [
    "Usage: sluice hub [options]",
    "",
    "A standalone real-time server. Subscribers (browsers, apps) connect to /rt: WebSocket",
    "(sluice.v1) or Server-Sent Events (GET /rt?topic=a&topic=b). Any backend publishes with",
    "POST /publish. GET /healthz says whether the broker answers. See docs/hub.md.",
    "",
    "Each option is also an environment variable and a key of the JSON config file; a flag",
    "wins over a variable, which wins over the file. A list option repeats or takes commas.",
    "At least one publish key or JWT key (--jwt-secret, --jwks-url) is required. Logs are",
    "JSON lines on stdout, at LOG_LEVEL (default info).",
    "",
    "Options:",
  ];
  for (const setting of HUB_SETTINGS) {
    const key = setting.key === "config" ? "" : `, file key "${setting.key}"`;
    lines.push(`  --${setting.flag} ${setting.value}`);
    lines.push(`      ${setting.help}`);
    lines.push(`      env ${setting.env}${key}; default: ${setting.fallback}`);
  }
  lines.push("  --help, -h", "      prints this", "");
  lines.push(
    "Example:",
    "  npx sluice hub --publish-key $(openssl rand -hex 24) --jwt-secret $SECRET",
    "",
  );
  return lines.join("\n");
}
