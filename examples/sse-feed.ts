// A live feed over Server-Sent Events that survives reconnects: every post gets an id, and
// a client that reconnects sends Last-Event-ID and first receives what it missed.
import { pathToFileURL } from "node:url";
import { App, HttpError, HttpResponse, SseEvent } from "sluice";

const KEPT_POSTS = 1000;

export function createFeedApp(app = new App()): App {
  const posts: SseEvent[] = [];
  const waiting = new Set<() => void>();
  let lastId = 0;

  /** Resolves at the next post, or when the signal aborts (the client left). */
  function nextPost(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        waiting.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      waiting.add(done);
      signal.addEventListener("abort", done);
    });
  }

  app.post("/feed", async (req) => {
    const { text } = await req.json<{ text?: unknown }>();
    if (typeof text !== "string" || text === "") throw new HttpError(422, "text is required");
    const post = new SseEvent({ id: ++lastId, event: "post", data: { text, at: Date.now() } });
    posts.push(post);
    if (posts.length > KEPT_POSTS) posts.shift();
    for (const wake of [...waiting]) wake();
    return HttpResponse.json({ id: lastId }, { statusCode: 201 });
  });

  app.sse("/feed", { retry: 2000 }, async function* (req) {
    let seen = Number(req.lastEventId ?? 0) || 0;
    while (!req.signal.aborted) {
      // Each SseEvent was encoded once, when it was posted, however many clients read it.
      for (const post of posts) {
        if (Number(post.id) > seen) {
          seen = Number(post.id);
          yield post;
        }
      }
      await nextPost(req.signal);
    }
  });
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createFeedApp().listen({ handleSignals: true });
}
