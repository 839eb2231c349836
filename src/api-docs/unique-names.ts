/**
 * Keys a document gives its parts (operation ids, channels, components): each asked-for name
 * once, a repeat gets `2`, `3`... appended. Names already taken by the document itself
 * (`ValidationProblem`) are reserved first.
 */
export class UniqueNames {
  readonly #taken = new Set<string>();

  constructor(reserved: readonly string[] = []) {
    for (const name of reserved) this.#taken.add(name);
  }

  take(base: string): string {
    let name = base;
    for (let n = 2; this.#taken.has(name); n++) name = `${base}${n}`;
    this.#taken.add(name);
    return name;
  }
}

/** `POST /users/:id body` as `PostUsersIdBody`: a component name (letters and digits only). */
export function pascalName(text: string): string {
  const words = text.match(/[A-Za-z0-9]+/g) ?? [];
  const name = words.map((word) => word[0].toUpperCase() + word.slice(1)).join("");
  return name === "" ? "Root" : name;
}

/** `/chat/:room` as `chat-room`: a key AsyncAPI accepts (letters, digits, `_`, `-`). */
export function slugName(text: string): string {
  const words = text.match(/[A-Za-z0-9_]+/g) ?? [];
  return words.length === 0 ? "root" : words.join("-");
}
