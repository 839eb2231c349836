// An LLM-style token stream: text appears word by word; if the client leaves, the signal
// aborts the wait and `finally` releases what the generation held.
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { App, StreamingResponse } from "sluice";

const ANSWER =
  "Streaming responses start at once, write each token as it is produced, wait for slow readers and stop when the reader leaves.";

export function createTextStreamApp(app = new App(), delayMs = 50): App {
  let activeGenerations = 0;
  app.get("/generations/active", () => ({ active: activeGenerations }));
  app.get("/generate", (req) => {
    const prompt = req.query.get("prompt") ?? "why stream?";
    async function* tokens() {
      activeGenerations++;
      try {
        yield `> ${prompt}\n`;
        for (const word of ANSWER.split(" ")) {
          await sleep(delayMs, undefined, { signal: req.signal });
          yield `${word} `;
        }
        yield "\n";
      } finally {
        activeGenerations--;
        req.log.debug("generation finished or cancelled");
      }
    }
    return new StreamingResponse(tokens(), {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  });
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createTextStreamApp().listen({ handleSignals: true });
}
