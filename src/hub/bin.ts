#!/usr/bin/env node
// The `sluice` command (package.json "bin"): `npx sluice hub --help`.
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
