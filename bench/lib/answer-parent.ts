/**
 * Runs a forked subscriber process's side of the IPC channel (bench/lib/subscriber-processes.ts):
 * each command from the parent gets `answer`'s reply, or `{ type: "failed", message }` if it
 * throws. The parent going away (its IPC channel closing) ends this process and its sockets.
 */
export function answerParent<Command, Answer>(answer: (command: Command) => Promise<Answer>): void {
  process.on("message", (command: Command) => {
    answer(command).then(
      (reply) => process.send?.(reply),
      (error: unknown) =>
        process.send?.({
          type: "failed",
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
