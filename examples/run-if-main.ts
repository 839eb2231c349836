import { pathToFileURL } from "node:url";
import type { App } from "../src/index.js";

/** Starts the example's app when its file is run directly (`npx tsx examples/x.ts`). */
export async function runIfMain(moduleUrl: string, create: () => App): Promise<void> {
  const entry = process.argv[1];
  if (!entry || moduleUrl !== pathToFileURL(entry).href) return;
  await create().listen({ handleSignals: true });
}
