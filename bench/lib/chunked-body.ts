const LF = 0x0a;

/**
 * The payload of a chunked HTTP response body as its bytes arrive: chunk-size lines and the
 * CRLF after each chunk are skipped, and each run of payload bytes is handed on (a subarray
 * of the bytes read: copy what must outlive the call). `ended` once the last chunk (size 0) came.
 */
export class ChunkedBody {
  ended = false;
  private state: "size" | "size-line" | "payload" | "payload-end" = "size";
  private size = 0;
  private remaining = 0;

  constructor(private readonly onPayload: (bytes: Buffer, start: number, end: number) => void) {}

  push(bytes: Buffer, length = bytes.length): void {
    let at = 0;
    while (at < length && !this.ended) {
      at =
        this.state === "payload"
          ? this.payload(bytes, at, length)
          : this.framing(bytes, at, length);
    }
  }

  private payload(bytes: Buffer, start: number, length: number): number {
    const end = Math.min(length, start + this.remaining);
    this.onPayload(bytes, start, end);
    this.remaining -= end - start;
    if (this.remaining === 0) this.state = "payload-end";
    return end;
  }

  /** Reads a chunk-size line (hex digits, maybe extensions, CRLF) or the CRLF after a payload. */
  private framing(bytes: Buffer, start: number, length: number): number {
    for (let at = start; at < length; at++) {
      const byte = bytes[at];
      if (byte === LF) {
        this.endLine();
        return at + 1;
      }
      if (this.state !== "size") continue;
      const digit = hexDigit(byte);
      if (digit === -1) this.state = "size-line";
      else this.size = this.size * 16 + digit;
    }
    return length;
  }

  private endLine(): void {
    if (this.state === "payload-end") {
      this.state = "size";
      return;
    }
    if (this.size === 0) this.ended = true;
    this.remaining = this.size;
    this.size = 0;
    this.state = "payload";
  }
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
