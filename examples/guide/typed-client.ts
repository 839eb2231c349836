// The chat's client, typed from the same contract as the server: a wrong topic, field or
// method name does not compile. Runs in browsers and in Node (pass ws's class there).
import { type ConnectOptions, connect } from "sluice/client";
import type { chat } from "./contract.js";

// #region client
export async function joinRoom(url: string, room: string, options: ConnectOptions = {}) {
  const rt = connect<typeof chat>(url, options);
  const messages = rt.subscribe(`room:${room}`);
  await rt.publish(`room:${room}`, { user: "ada", text: "hello" });
  const { name } = await rt.call("rename", { name: " Ada " });
  return { rt, messages, name };
}
// #endregion
