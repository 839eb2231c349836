#!/usr/bin/env node
// The `sluice` command (package.json "bin"): `npx sluice hub --help`.
import cluster from "node:cluster";
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2));
if (code !== undefined) {
  process.exitCode = code;
  // A cluster worker's IPC channel would keep it running: a worker that cannot start ends
  // here, and its primary sees it exit before listening.
  if (cluster.isWorker) process.exit(code);
}
