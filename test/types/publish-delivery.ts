/*
 * Compile-time checks of the publish options of issue 22 (`npx tsc --noEmit` compiles this
 * file; a `@ts-expect-error` whose error went away fails it): `store` is a boolean, `except` a
 * client id or a socket (anything with a string `id`), on app.publish() and on a typed App's
 * publish alike; sluice/client's publish takes `store` and `echo` booleans.
 */
import { z } from "zod";
import type { Realtime } from "../../src/client/index.js";
import { App, type PublishExcept, type PublishOptions } from "../../src/index.js";

const app = new App({ logger: false });
app.websocket("/room", async (socket) => {
  await app.publish("room", { text: "hi" }, { except: socket });
  await app.publish("room", { text: "hi" }, { except: socket.id, store: false });
});
void app.publish("room", 1, { store: false, event: "typing" });
void app.publish("room", 1, { except: { id: "client-1" } });
// @ts-expect-error store is a boolean
void app.publish("room", 1, { store: "no" });
// @ts-expect-error except is a client id or a socket, not a number
void app.publish("room", 1, { except: 42 });
// @ts-expect-error a socket's id is a string
void app.publish("room", 1, { except: { id: 42 } });

const typed = new App({ logger: false }).topic("chat:*", {
  schema: z.object({ text: z.string() }),
});
void typed.publish("chat:lobby", { text: "hi" }, { store: false, except: "client-1" });
// @ts-expect-error store is a boolean on a typed App too
void typed.publish("chat:lobby", { text: "hi" }, { store: 1 });

const except: PublishExcept = "client-1";
const options: PublishOptions = { store: false, except };
void options;

declare const rt: Realtime;
void rt.publish("room", 1, { store: false, echo: false });
// @ts-expect-error echo is a boolean
void rt.publish("room", 1, { echo: "no" });
// @ts-expect-error store is a boolean
void rt.publish("room", 1, { store: null });
