// Issue 22, "rooms made easy": socket.topics lists what a socket follows, as it changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SluiceWebSocket } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { waitFor, within } from "./support/wait.js";

test("socket.topics: the topics followed, in order, after subscribe and unsubscribe; empty once closed", async () => {
  const app = quietApp();
  let server: SluiceWebSocket | undefined;
  app.websocket("/rooms", async (socket) => {
    server = socket;
    assert.deepEqual(socket.topics, [], "none before the first subscribe");
    for await (const message of socket) {
      const [verb, topic] = String(message).split(" ");
      if (verb === "join") await socket.subscribe(String(topic));
      else socket.unsubscribe(String(topic));
      await socket.sendJson(socket.topics);
    }
  });
  await using client = await TestClient.start(app);
  const ws = await client.websocketConnect("/rooms");
  const answers: unknown[] = [];
  for (const command of [
    "join lobby",
    "join kitchen",
    "join lobby",
    "leave lobby",
    "leave attic",
  ]) {
    await ws.send(command);
    answers.push(await within(ws.receiveJson(), command, 5000));
  }
  assert.deepEqual(answers, [
    ["lobby"],
    ["lobby", "kitchen"],
    ["lobby", "kitchen"],
    ["kitchen"],
    ["kitchen"],
  ]);
  const copy = server?.topics as string[];
  copy.push("changed");
  assert.deepEqual(server?.topics, ["kitchen"], "a copy: changing it changes nothing");
  await ws.close();
  await waitFor(() => server?.topics.length === 0, "the topics emptied by the close", 5000);
});
