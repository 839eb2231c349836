/*
 * The TypeErrors a publish to a declared topic can end with besides its schema's refusal (a
 * ValidationError) or failure (a SchemaError). Both are the app's own mistake, so a real-time
 * endpoint tells them apart from a broker that failed.
 */

/**
 * A publish to a topic that no declaration covers, but that a declared pattern would cover if
 * its `*` spanned `:` or stood for nothing (`chat:a:b`, `chat:` for `chat:*`). The types of
 * `app.publish()` and of a contract's client treat such a topic as the pattern's (a template
 * type cannot exclude `:`), so it is refused rather than stored unvalidated.
 */
export class TopicSegmentError extends TypeError {
  override readonly name = "TopicSegmentError";

  constructor(
    readonly topic: string,
    readonly pattern: string,
  ) {
    super(
      `Topic ${JSON.stringify(topic)} matches no declared topic, but looks like one of ${JSON.stringify(pattern)}: "*" is one whole segment (one or more characters other than ":"), so ${JSON.stringify(pattern)} does not cover it; publish to a topic it matches, or declare this one with app.topic()`,
    );
  }
}

/**
 * The output of a topic's schema has no JSON form (undefined, a BigInt, a cycle...), so it
 * cannot be stored: the schema's fault (its transform), not the publisher's, whose data it
 * accepted.
 */
export class UnstorableOutputError extends TypeError {
  override readonly name = "UnstorableOutputError";

  constructor(
    readonly topic: string,
    why: string,
  ) {
    super(
      `The schema of topic ${JSON.stringify(topic)} gave an output that cannot be stored as JSON (${why}): make its output a JSON value (no undefined, BigInt, function or cycle)`,
    );
  }
}
