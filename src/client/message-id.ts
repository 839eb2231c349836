const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * A publish's `mid`: 128 random bits in 22 base64url characters. getRandomValues, not
 * randomUUID, because randomUUID exists only in secure contexts (a page on plain http has none).
 */
export function messageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let id = "";
  // 22 characters of 6 bits: 132 bits, of which the 128 asked for are plenty.
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}
