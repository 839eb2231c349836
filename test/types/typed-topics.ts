// Topics, contracts and the typed client at the type level: `npx tsc --noEmit` fails if a
// line marked @ts-expect-error compiles (a wrong field name, wrong data, an unknown method).
import * as v from "valibot";
import { z } from "zod";
import { connect, type Realtime } from "../../src/client/index.js";
import { App, bearerAuth, cors, defineContract } from "../../src/index.js";

const message = z.object({ text: z.string().transform((text) => text.length) });

// ---- app.topic(): publish takes the schema's input, subscribe yields its output ----

export const app = new App()
  .topic("chat:*", { schema: message })
  .topic("dashboard", { schema: v.object({ load: v.number() }) });

export async function publishes(): Promise<void> {
  await app.publish("chat:lobby", { text: "hi" });
  await app.publish("dashboard", { load: 0.5 });
  // @ts-expect-error a wrong field name for a declared pattern
  await app.publish("chat:lobby", { txt: "hi" });
  // @ts-expect-error the input of a transform is a string, not its output
  await app.publish("chat:lobby", { text: 2 });
  // @ts-expect-error dashboard's load is a number
  await app.publish("dashboard", { load: "high" });
  // Undeclared topics take anything, as before.
  await app.publish("news", { anything: true });
  await app.publish(String(Date.now()), 42);
}

export async function subscribes(): Promise<void> {
  for await (const event of app.subscribe("chat:lobby")) {
    const length: number = event.data.text;
    // @ts-expect-error the output of the transform is a number
    const text: string = event.data.text;
    void length;
    void text;
  }
  for await (const event of app.subscribe("news")) {
    // @ts-expect-error an undeclared topic's data is unknown
    void event.data.anything;
  }
}

// use() and group() keep the declared topics.
export const chained = app.use(bearerAuth<{ name: string }>({ verify: () => ({ name: "a" }) }));
// @ts-expect-error still typed after use()
void chained.publish("chat:1", { txt: "hi" });
void app.use(cors()).group("/x", () => {});
// An App with topics is still an App.
export const plain: App = new App().topic("a", { schema: z.string() });

// ---- app.realtime({ contract }): methods typed from the contract ----

const contract = defineContract({
  topics: { "room:*": z.object({ body: z.string() }) },
  methods: {
    rename: { params: z.object({ name: z.string() }), result: z.boolean() },
    now: { result: z.number() },
  },
});

new App().realtime("/rt", {
  contract,
  subscribe: ["room:*"],
  methods: {
    rename: ({ name }) => name.length > 0,
    now: () => Date.now(),
  },
});

new App().realtime("/rt", {
  contract,
  methods: {
    // @ts-expect-error params have no field "nam"
    rename: ({ nam }) => nam === "x",
    now: () => Date.now(),
  },
});

// @ts-expect-error the result schema of now is a number (reported at the call: no overload fits)
new App().realtime("/rt", {
  contract,
  methods: {
    rename: () => true,
    now: () => "soon",
  },
});

// @ts-expect-error a contract method without its implementation
new App().realtime("/rt", { contract, methods: { rename: () => true } });

// @ts-expect-error an implementation the contract does not name (extra)
new App().realtime("/rt", {
  contract,
  methods: {
    rename: () => true,
    now: () => 1,
    extra: () => 1,
  },
});

// ---- connect<typeof contract>(): the client typed from the same contract ----

export async function client(): Promise<void> {
  const rt = connect<typeof contract>("ws://localhost/rt");
  const sub = rt.subscribe("room:1", {}, (m) => {
    const body: string = m.data.body;
    void body;
  });
  for await (const m of sub) void (m.data.body satisfies string);
  // @ts-expect-error not a topic of the contract
  rt.subscribe("chat:1");
  await rt.publish("room:1", { body: "hi" });
  // @ts-expect-error a wrong field name in the data
  await rt.publish("room:1", { bdy: "hi" });
  const renamed: boolean = await rt.call("rename", { name: "ada" });
  const now: number = await rt.call("now");
  // @ts-expect-error wrong params for the method
  await rt.call("rename", { name: 1 });
  // @ts-expect-error params are required when the schema needs them
  await rt.call("rename");
  // @ts-expect-error an unknown method name
  await rt.call("renam", { name: "ada" });
  void renamed;
  void now;

  // Without a type argument: untyped, as before.
  const untyped: Realtime = connect("ws://localhost/rt");
  untyped.subscribe<{ n: number }>("anything", {}, (m) => void (m.data.n satisfies number));
  await untyped.publish("anything", { whatever: 1 });
  await untyped.call<string>("whatever", [1, 2]);
  rt.close();
  untyped.close();
}
