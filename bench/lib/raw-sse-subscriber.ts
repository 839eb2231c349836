import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { getRequest, readStreamHead } from "./http-response.js";

/**
 * Every raw subscriber reads into this one buffer (net's `onread`): its bytes are handled
 * before the next read, so no Buffer is allocated and no 'data' event emitted per read.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * What the bench's SSE subscribers on raw sockets (no HTTP parser) have in common: the
 * connection and request, the response head checked, every body byte after it handed to
 * `pushBody`, and the first failure kept in `error` (the stream closed or ended by the
 * server, a socket error, a head that is not a 200). Subclasses read the body.
 */
export abstract class RawSseSubscriber {
  error: Error | undefined;
  /** Resolves once the response head has arrived, or the stream failed first (see `error`). */
  readonly ready: Promise<void>;
  private head: Buffer | undefined = Buffer.alloc(0);
  private closing = false;
  private onHead = () => {};

  /** `stream` names the stream in failures ("the server closed the <stream>"). */
  protected constructor(
    private readonly socket: Socket,
    private readonly stream: string,
  ) {
    this.ready = new Promise((resolve) => {
      this.onHead = resolve;
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error(`the server closed the ${stream}`)));
  }

  /**
   * Connects to 127.0.0.1:`port`, makes the subscriber with `make` and sends `GET path`.
   * Resolves once the request is sent; a failed connection closes the subscriber and rejects.
   */
  protected static async connect<S extends RawSseSubscriber>(
    port: number,
    path: string,
    make: (socket: Socket) => S,
  ): Promise<S> {
    let subscriber: S | undefined;
    const onread = {
      buffer: READ_BUFFER,
      callback: (length: number, buffer: Buffer) => {
        subscriber?.onData(buffer, length);
        return true; // keep reading
      },
    };
    const socket = connect({ port, host: "127.0.0.1", onread });
    subscriber = make(socket);
    try {
      await once(socket, "connect");
    } catch (error) {
      subscriber.close();
      throw error;
    }
    socket.write(getRequest(path));
    return subscriber;
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  /** Body bytes (`length` of them, in the shared read buffer: copy what must outlive the call). */
  protected abstract pushBody(bytes: Buffer, length: number): void;

  /** The chunked body's last chunk came: the server ended the stream. */
  protected abstract get bodyEnded(): boolean;

  private onData(buffer: Buffer, length: number): void {
    if (this.head !== undefined) this.readHead(this.head, buffer.subarray(0, length));
    else this.pushBody(buffer, length);
    if (this.bodyEnded) this.fail(new Error(`the server ended the ${this.stream}`));
  }

  /** Until the head is complete, bytes are kept; what follows it is body. */
  private readHead(before: Buffer, chunk: Buffer): void {
    const read = readStreamHead(before, chunk);
    this.head = "pending" in read ? read.pending : undefined;
    if ("error" in read) this.fail(read.error);
    else if ("body" in read) {
      this.onHead();
      this.pushBody(read.body, read.body.length);
    }
  }

  private fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.close();
    this.onHead();
  }
}
