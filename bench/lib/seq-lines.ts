const LF = 0x0a;
const SEQ = Buffer.from('{"seq":');
const SSE_DATA = Buffer.from('data: {"seq":');
const SSE_DATA_PREFIX = "data: ".length;

/**
 * The bench's messages in a response body as its bytes arrive, for SSE and NDJSON alike: every
 * complete line that is `{"seq":…}` (an NDJSON line) or `data: {"seq":…}` (an SSE event's data)
 * is handed to `deliver` with where its JSON starts and ends; other lines (`id:`, blank lines,
 * keep-alive comments) are skipped. A line split over two reads is joined (a copy, rare).
 */
export class SeqLines {
  private partial: Buffer | undefined;

  constructor(private readonly deliver: (bytes: Buffer, start: number, end: number) => void) {}

  push(bytes: Buffer, start = 0, end = bytes.length): void {
    let from = start;
    if (this.partial) {
      const lf = bytes.indexOf(LF, start);
      if (lf === -1 || lf >= end) {
        this.partial = Buffer.concat([this.partial, bytes.subarray(start, end)]);
        return;
      }
      const line = Buffer.concat([this.partial, bytes.subarray(start, lf)]);
      this.partial = undefined;
      this.line(line, 0, line.length);
      from = lf + 1;
    }
    while (from < end) {
      const lf = bytes.indexOf(LF, from);
      if (lf === -1 || lf >= end) {
        this.partial = Buffer.from(bytes.subarray(from, end));
        return;
      }
      this.line(bytes, from, lf);
      from = lf + 1;
    }
  }

  private line(bytes: Buffer, start: number, end: number): void {
    if (startsWith(bytes, start, end, SEQ)) this.deliver(bytes, start, end);
    else if (startsWith(bytes, start, end, SSE_DATA))
      this.deliver(bytes, start + SSE_DATA_PREFIX, end);
  }
}

function startsWith(bytes: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}
