// The contract a chat's server and clients share: one file, imported by both. It imports
// `defineContract` from sluice/client so that a browser bundle of it pulls in no Node code.
import { defineContract } from "sluice/client";
import { z } from "zod";

// #region contract
export const Message = z.object({
  user: z.string().min(1).max(40),
  text: z.string().min(1).max(500),
});

export const chat = defineContract({
  topics: {
    // "room:*" is any one segment: room:lobby, room:42 (never room:a:b).
    "room:*": Message,
  },
  methods: {
    rename: {
      params: z.object({ name: z.string().min(1).max(40) }),
      result: z.object({ name: z.string() }),
    },
  },
});
// #endregion
