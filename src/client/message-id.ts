/**
 * A publish's `mid`: 128 random bits in 22 base64url characters. getRandomValues, not
 * randomUUID, because randomUUID exists only in secure contexts (a page on plain http has none).
 */
export function messageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // base64 of 16 bytes is 22 characters and "==": made URL-safe, the padding dropped.
  return btoa(String.fromCharCode(...bytes))
    .slice(0, 22)
    .replace(/[+/]/g, (char) => (char === "+" ? "-" : "_"));
}
