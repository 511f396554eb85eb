/**
 * A Redis connection that hands back each reply as the raw RESP bytes Redis
 * sent, for bulk reads where turning a reply into JavaScript values costs more
 * than the work done with it. Reading a page of audit stream entries through
 * ioredis makes an object of each of an entry's 19 bulk strings (~10 µs of CPU
 * per 2.6 KB entry measured, more than hashing it); here a page is one view of
 * the bytes received and its reader walks them in place
 * (services/audit/domain/stream-page.ts).
 *
 * Commands are pipelined: `read()` may be called again before earlier replies
 * arrive, and replies come back in order. `read(args, use)` calls `use` with a
 * view of the reply's bytes the moment the reply is complete — valid only
 * during that call: the receive buffer is then reused, so a bulk read
 * allocates nothing per reply (allocating a buffer per reply cost a
 * mark-compact GC every few hundred milliseconds, a third of the read's CPU).
 * `command(args)` gives a copy of the reply to keep. The socket reads straight
 * into that buffer, behind the bytes received so far (`onread` with a buffer
 * function: no copy from a socket buffer — about one memcpy of every byte read
 * less; TLS connections read and copy as usual). RESP2 only (no HELLO 3). An
 * error reply rejects that command; the connection goes on.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { readInteger } from '../resp.js';

const CR = 0x0d;
const INITIAL_BUFFER_BYTES = 1 << 20;
/** The least room a socket read is given. */
const SOCKET_READ_BYTES = 256 * 1024;
/** The buffer grows once the reply being received takes more than this share of it: moving it to the start is then rarer. */
const MOVE_AT_MOST = 1 / 4;

/** What `RawReplyConnection.connect` takes: where Redis is and how to log in (ioredis's option names). */
export type RawConnectionOptions = Pick<RedisOptions, 'host' | 'port' | 'path' | 'username' | 'password' | 'db' | 'tls'>;

interface Waiter {
  /** Takes the reply's bytes, valid during the call only. */
  readonly take: (reply: Buffer) => void;
  readonly reject: (err: Error) => void;
}

export class RawReplyConnection {
  /** Received bytes: [replyStart, received) not yet handed out. */
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private replyStart = 0;
  private received = 0;
  /** Where the scan of the reply being received has got to (always at the start of an element). */
  private scanned = 0;
  /** Elements still to come in each array the scan is inside, outermost first. */
  private readonly open: number[] = [];
  private readonly waiting: Waiter[] = [];
  private failure: Error | undefined;
  private socket!: net.Socket;

  private constructor() {}

  static async connect(options: RawConnectionOptions): Promise<RawReplyConnection> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 6379;
    const connection = new RawReplyConnection();
    // Each read lands behind the bytes received so far; Node asks for the next read's room after each callback.
    const onread = {
      buffer: () => connection.room(),
      callback: (n: number, buf: Uint8Array) => {
        connection.filled(n, buf);
        return true;
      },
    };
    const secure = Boolean(options.tls) && !options.path;
    const socket = options.path
      ? net.connect({ path: options.path, onread })
      : options.tls
        ? tls.connect({ ...options.tls, host, port, servername: options.tls.servername ?? host })
        : net.connect({ host, port, onread });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    connection.socket = socket;
    socket.on('error', (err: Error) => connection.fail(err));
    socket.on('close', () => connection.fail(new Error('the Redis connection closed')));
    if (secure) socket.on('data', (chunk: Buffer) => connection.receive(chunk));
    if (options.password) await connection.command(options.username ? ['AUTH', options.username, options.password] : ['AUTH', options.password]);
    if (options.db) await connection.command(['SELECT', String(options.db)]);
    return connection;
  }

  /**
   * Runs `send`, whose commands go out in one write (the socket corked meanwhile) rather
   * than a system call each: for a batch of small commands sent together.
   */
  batch<T>(send: () => T): T {
    this.socket.cork();
    try {
      return send();
    } finally {
      this.socket.uncork();
    }
  }

  /** Sends one command; resolves with a copy of its reply's bytes (e.g. `*2\r\n$1\r\na\r\n…`). */
  command(args: readonly (string | Buffer)[]): Promise<Buffer> {
    return this.read(args, (reply) => Buffer.from(reply));
  }

  /**
   * Sends one command; calls `use` with its reply's bytes as soon as they are
   * all in — a view valid during that call only — and resolves with what it returns.
   */
  read<T>(args: readonly (string | Buffer)[], use: (reply: Buffer) => T): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const parts: (string | Buffer)[] = [`*${args.length}\r\n`];
    for (const arg of args) {
      parts.push(`$${Buffer.byteLength(arg)}\r\n`, arg, '\r\n');
    }
    this.socket.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    return new Promise<T>((resolve, reject) => {
      const take = (reply: Buffer) => {
        try {
          resolve(use(reply));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      this.waiting.push({ take, reject });
    });
  }

  close(): void {
    this.failure ??= new Error('the connection was closed');
    this.socket.destroy();
  }

  /** Where the next socket read goes: the buffer behind the bytes received, at least SOCKET_READ_BYTES of it. */
  private room(): Uint8Array {
    this.makeRoom(SOCKET_READ_BYTES);
    return this.buffer.subarray(this.received);
  }

  /** A socket read of `n` bytes landed in `buf`: the room last given, unless Node read into another buffer (then copied). */
  private filled(n: number, buf: Uint8Array): void {
    if (buf.buffer !== this.buffer.buffer || buf.byteOffset !== this.buffer.byteOffset + this.received) return this.receive(buf.subarray(0, n));
    this.received += n;
    this.scan();
  }

  /** Bytes read elsewhere (TLS), copied in. */
  private receive(chunk: Uint8Array): void {
    this.makeRoom(chunk.length);
    this.buffer.set(chunk, this.received);
    this.received += chunk.length;
    this.scan();
  }

  /**
   * Room for `bytes` more behind the bytes received. No view of a reply handed out outlives its call, so between
   * reads only the reply being received is kept: at the buffer's start, in this buffer or a bigger one.
   */
  private makeRoom(bytes: number): void {
    if (this.replyStart === this.received) {
      // Everything handed out: start again at the buffer's beginning.
      this.replyStart = this.received = this.scanned = 0;
    }
    if (this.received + bytes <= this.buffer.length) return;
    const pending = this.received - this.replyStart;
    if (pending + bytes <= this.buffer.length * MOVE_AT_MOST) {
      this.buffer.copyWithin(0, this.replyStart, this.received);
    } else {
      const next = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, Math.ceil((pending + bytes) / MOVE_AT_MOST)));
      this.buffer.copy(next, 0, this.replyStart, this.received);
      this.buffer = next;
    }
    this.scanned -= this.replyStart;
    this.received = pending;
    this.replyStart = 0;
  }

  /** Walks element headers (jumping over bulk bytes) until the bytes run out; hands out each reply completed. */
  private scan(): void {
    // Handing a reply out never moves bytes while this scan runs.
    const b = this.buffer;
    const end = this.received;
    const open = this.open;
    let at = this.scanned;
    while (at < end) {
      // The header line: a type byte, a number or text, CRLF.
      let cr = at + 1;
      while (cr < end && b[cr] !== CR) cr++;
      if (cr + 1 >= end) break;
      const type = b[at];
      const header = at;
      let next = cr + 2;
      if (type === 0x24 /* $ */ || type === 0x2a /* * */) {
        const n = readInteger(b, at + 1, cr);
        if (type === 0x24 && n >= 0) {
          next += n + 2;
          if (next > end) break;
        } else if (type === 0x2a && n > 0) {
          open.push(n);
          at = next;
          continue;
        }
      } else if (type !== 0x2b /* + */ && type !== 0x2d /* - */ && type !== 0x3a /* : */) {
        this.fail(new Error(`unexpected RESP type byte ${type ?? ''} from Redis`));
        return;
      }
      at = next;
      // Most elements are one of many in an array: one count down.
      const top = open.length - 1;
      if (top >= 0 && open[top]! > 1) {
        open[top]!--;
        continue;
      }
      if (this.elementDone()) {
        this.scanned = at;
        this.deliver(type === 0x2d && open.length === 0 ? b.toString('utf8', header + 1, cr) : undefined);
      }
    }
    this.scanned = at;
  }

  /** One element complete: closes the arrays it completes; true when the whole reply is. */
  private elementDone(): boolean {
    const open = this.open;
    while (open.length > 0) {
      const left = open[open.length - 1]! - 1;
      if (left > 0) {
        open[open.length - 1] = left;
        return false;
      }
      open.pop();
    }
    return true;
  }

  private deliver(error: string | undefined): void {
    const reply = this.buffer.subarray(this.replyStart, this.scanned);
    this.replyStart = this.scanned;
    const waiter = this.waiting.shift();
    if (!waiter) return this.fail(new Error('Redis sent a reply nobody asked for'));
    if (error !== undefined) waiter.reject(new Error(error));
    else waiter.take(reply);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
    this.socket.destroy();
  }
}
