/** The range a numeric command-line value must be in. */
export interface NumericBounds {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/** `--name=text` as a number within `bounds`; otherwise an Error with the usage and what was wrong. */
export function numericArgument(
  usage: string,
  name: string,
  text: string,
  bounds: NumericBounds,
): number {
  const { min, max, integer } = bounds;
  const value = Number(text);
  const fits = text !== "" && Number.isFinite(value) && value >= min && value <= max;
  if (!fits || (integer && !Number.isInteger(value))) {
    throw new Error(
      `${usage}\n--${name}: must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got "${text}"`,
    );
  }
  return value;
}
