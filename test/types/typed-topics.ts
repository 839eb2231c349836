// Topics, contracts and the typed client at the type level: `npx tsc --noEmit` fails if a
// line marked @ts-expect-error compiles (a wrong field name, wrong data, an unknown method).
import * as v from "valibot";
import { z } from "zod";
import { connect, type Realtime } from "../../src/client/index.js";
import { App, bearerAuth, cors, defineContract, isTopicReset } from "../../src/index.js";

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

// ---- What crosses JSON is typed as JSON gives it back (Jsonified) ----

const stamped = z.object({ at: z.coerce.date(), note: z.string().optional() });
export const datedApp = new App().topic("events", { schema: stamped });

export async function jsonRoundTrip(): Promise<void> {
  await datedApp.publish("events", { at: "2024-01-01T00:00:00Z" });
  for await (const event of datedApp.subscribe("events")) {
    const at: string = event.data.at;
    const note: string | undefined = event.data.note;
    // @ts-expect-error the Date output is received as its JSON, a string
    const when: Date = event.data.at;
    void [at, note, when];
  }
  const dated = defineContract({
    topics: { events: stamped },
    methods: { now: { result: z.date() } },
  });
  const rt = connect<typeof dated>("ws://localhost/rt");
  rt.subscribe("events", {}, (m) => void (m.data.at satisfies string));
  const now: string = await rt.call("now");
  // @ts-expect-error a Date result is received as a string
  const nowDate: Date = await rt.call("now");
  void [now, nowDate];
  // The implementation returns the result schema's input, a Date.
  new App().realtime("/rt", { contract: dated, methods: { now: () => new Date() } });
}

// ---- app.topic() with a name known only as string types nothing ----

declare const fromConfig: string;
export const configured = new App().topic(fromConfig, { schema: z.object({ n: z.number() }) });

export async function configuredTopics(): Promise<void> {
  await configured.publish("news", { anything: true });
  for await (const event of configured.subscribe("news")) {
    // @ts-expect-error not typed by a schema declared under a name only known as string
    const n: number = event.data.n;
    void n;
  }
}

// ---- A subscription that resumes may start with a reset, typed as one ----

export async function resets(lastEventId: string): Promise<void> {
  for await (const event of app.subscribe("chat:1", { lastEventId })) {
    // @ts-expect-error the event may be a reset: narrow it first
    void event.data.text;
    if (isTopicReset(event)) {
      const reason: "trimmed" | "unknown" = event.data.reason;
      const since: string = event.data.lastEventId;
      void [reason, since];
    } else {
      const length: number = event.data.text;
      void length;
    }
  }
  // Without a lastEventId no reset can come: the events are the topic's data.
  for await (const event of app.subscribe("chat:1", { maxQueued: 10 })) {
    void (event.data.text satisfies number);
  }
}

// ---- app.realtime({ contract }) types the App's topics as app.topic() does ----

const rooms = defineContract({ topics: { "room:*": z.object({ body: z.string() }) } });
export const withRooms = new App().realtime("/rt", { contract: rooms, publish: ["room:*"] });

export async function contractTopicsOnTheApp(): Promise<void> {
  await withRooms.publish("room:1", { body: "hi" });
  // @ts-expect-error a wrong field name for a contract topic
  await withRooms.publish("room:1", { bdy: "hi" });
  for await (const event of withRooms.subscribe("room:1")) void (event.data.body satisfies string);
  // Still an App (chaining goes on) with its earlier topics.
  const both = app.realtime("/rt2", { contract: rooms }).get("/x", () => "x");
  // @ts-expect-error chat:* is still typed after realtime()
  await both.publish("chat:1", { txt: "hi" });
  // @ts-expect-error room:* is typed too
  await both.publish("room:1", { body: 1 });
}

// ---- methods typed exactly: no methods in the contract, options in a variable ----

// @ts-expect-error the contract has no methods: none may be implemented
new App().realtime("/rt", { contract: rooms, methods: { extra: () => 1 } });

const renaming = defineContract({
  methods: { rename: { params: z.object({ name: z.string() }) } },
});
const misnamed = { contract: renaming, methods: { renam: (p: unknown) => p } };
// @ts-expect-error options in a variable cannot fall back to the untyped overload
new App().realtime("/rt", misnamed);

// ---- a publish function sees the schema's output, typed so ----

const docs = defineContract({
  topics: { "doc:*": z.object({ owner: z.string(), at: z.coerce.date() }) },
});
new App().realtime("/rt", {
  contract: docs,
  publish: (_topic, data) => data.owner === "ada" && data.at instanceof Date,
});
new App().realtime("/rt", {
  contract: docs,
  // @ts-expect-error the output has no field "ownr"
  publish: (_topic, data) => data.ownr === "ada",
});
