/*
 * What a value becomes after a JSON round trip (JSON.stringify, then JSON.parse), as a type:
 * topic data and method results reach their receivers that way, so a schema whose output is
 * a Date is received as a string. Types only.
 */

/**
 * `T` as JSON gives it back: `toJSON()` honoured (a Date is a string), properties that are
 * undefined, functions or symbols dropped (optional when they may be undefined), such array
 * items `null`, a Map or Set `{}`; a BigInt has no JSON form (`never`: the server refuses to
 * store it). `unknown` and `any` stay as they are. Numbers stay numbers (NaN and Infinity
 * become null at run time: the type cannot tell).
 *
 * ```ts
 * type Received = Jsonified<{ at: Date; note?: string; run(): void }>; // { at: string; note?: string }
 * ```
 */
export type Jsonified<T> = unknown extends T
  ? T
  : T extends { toJSON(...args: never[]): infer R }
    ? Jsonified<R>
    : T extends string | number | boolean | null
      ? T
      : T extends bigint | symbol | undefined | ((...args: never[]) => unknown)
        ? never
        : T extends readonly unknown[]
          ? { [K in keyof T]: JsonifiedItem<T[K]> }
          : T extends
                | ReadonlyMap<unknown, unknown>
                | ReadonlySet<unknown>
                | WeakMap<object, unknown>
                | WeakSet<object>
            ? Record<string, never>
            : T extends object
              ? JsonifiedObject<T>
              : never;

/** An array item: what has no JSON form is written as null. */
type JsonifiedItem<T> = [Jsonified<T>] extends [never]
  ? null
  : Jsonified<T> | (undefined extends T ? null : never);

/** True when a property of this type is left out of the JSON. */
type Dropped<V> = [Jsonified<V>] extends [never] ? true : false;

type JsonKey<K, V, Optional extends boolean> = K extends string | number
  ? Dropped<V> extends true
    ? never
    : (undefined extends V ? true : false) extends Optional
      ? K
      : never
  : never;

type JsonifiedObject<T> = Flat<
  { [K in keyof T as JsonKey<K, T[K], false>]: Jsonified<T[K]> } & {
    [K in keyof T as JsonKey<K, T[K], true>]?: Jsonified<T[K]>;
  }
>;

type Flat<T> = { [K in keyof T]: T[K] };
