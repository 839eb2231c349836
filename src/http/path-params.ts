/**
 * The params a route path declares, as the router fills them: one `string` per `:name`
 * segment, and `"*"` for a trailing wildcard. A path only known as `string` gives
 * `Record<string, string>`.
 *
 * ```ts
 * type P = PathParams<"/orgs/:org/files/*">; // { org: string; "*": string }
 * ```
 */
export type PathParams<Path extends string> = string extends Path
  ? Record<string, string>
  : { [Name in ParamNames<Path>]: string };

/** The names of a path's params, segment by segment. */
type ParamNames<Path extends string> = Path extends `${infer Segment}/${infer Rest}`
  ? SegmentParam<Segment> | ParamNames<Rest>
  : SegmentParam<Path>;

/** The router reads a whole segment after `:` as the name (`:id.json` is refused). */
type SegmentParam<Segment extends string> = Segment extends `:${infer Name}`
  ? Name
  : Segment extends "*"
    ? "*"
    : never;
