import type { ServerResponse } from "node:http";

/** Resolves true on 'drain', false if the response closed first (client gone). */
export function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (ok: boolean) => () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
