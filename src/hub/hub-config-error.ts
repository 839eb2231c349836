/**
 * A configuration of `sluice hub` that cannot run: a flag, an environment variable or a config
 * file key with a bad value, or settings that do not fit together. Its message names the key
 * and where it came from (`--port: ...`, `SLUICE_HISTORY: ...`, `config file hub.json: ...`);
 * the CLI prints it alone, without a stack, and exits with 2.
 */
export class HubConfigError extends Error {
  override readonly name = "HubConfigError";
}
