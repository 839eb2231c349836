// `npm start`: the patterns in one app on http://127.0.0.1:3000 (PORT and HOST to change).
import { App } from "sluice";
import { createJsonApp } from "./json-route.js";
import { createExportApp } from "./ndjson-export.js";
import { createFeedApp } from "./sse-feed.js";
import { createTextStreamApp } from "./streaming-text.js";
import { createChatApp } from "./websocket-chat.js";

const INDEX = `sluice demo

  curl http://HOST/todos                          JSON route
  curl -N "http://HOST/generate?prompt=hello"     streaming text, token by token
  curl -N "http://HOST/export.ndjson?rows=5"      NDJSON export (rows=1000000 for a big one)
  curl -X POST -H 'Authorization: Bearer demo' -H 'content-type: application/json' \\
       -d '{"title":"write docs"}' http://HOST/todos
  curl -N http://HOST/feed                        Server-Sent Events feed (keep it open, then:)
  curl -X POST -H 'Authorization: Bearer demo' -H 'content-type: application/json' \\
       -d '{"text":"hello"}' http://HOST/feed
  curl -N -H 'Last-Event-ID: 1' http://HOST/feed  resume after post 1
  ws://HOST/ws                                    WebSocket JSON echo ({"type":"ping"} gets a pong)
  ws://HOST/chat?name=ada                         WebSocket chat room (text in, JSON to everyone)
`;

export function createDemoApp(app = new App()): App {
  createJsonApp(app);
  createExportApp(app);
  createTextStreamApp(app);
  createFeedApp(app);
  createChatApp(app);
  app.get("/", (req) => INDEX.replaceAll("HOST", req.header("host") ?? "localhost:3000"));
  return app;
}

const app = createDemoApp();
const server = await app.listen({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST,
  handleSignals: true,
});
app.logger.info(`try: curl ${server.url}/`);
