// Writes docs/hub-openapi.json, the OpenAPI document `sluice hub` serves at GET /openapi.json
// (src/hub/hub-openapi.ts), formatted as Biome formats it. test/hub-openapi.test.ts fails
// when the committed file is out of step. Run: npx tsx scripts/write-hub-openapi.ts
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hubOpenApi } from "../src/hub/hub-openapi.js";

const target = fileURLToPath(new URL("../docs/hub-openapi.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(hubOpenApi(), null, 2)}\n`);
execFileSync("npx", ["biome", "format", "--write", target], { stdio: "inherit" });
console.log(`wrote ${target}`);
