import { z } from "zod";

/*
 * The zod schemas of the messages the benchmark's servers exchange (ws-messages.ts,
 * sse-events.ts): what a typed sluice app would declare for them. Each parses what the load
 * clients send or the producers publish, and its output, in the schema's key order, is the
 * same object, so it is sent back or fanned out as the same bytes.
 */

/** An echo client's message, `echoText()`: `{"seq":…,"client":…,"text":"…"}`. */
export const echoMessageSchema = z.object({
  seq: z.number().int().nonnegative(),
  client: z.number().int().nonnegative(),
  text: z.string().max(1000),
});

/** A broadcast message, `broadcastData()`: `{"seq","t","symbol","price"}`. */
export const broadcastDataSchema = z.object({
  seq: z.number().int().nonnegative(),
  t: z.number(),
  symbol: z.string().min(1).max(12),
  price: z.number().positive(),
});

/**
 * An SSE event's data, `sseData()`: the topic is published the event's JSON text, so the
 * `data:` line is the same bytes as every other server's; a string is all there is to check.
 */
export const sseDataSchema = z.string().max(1000);
