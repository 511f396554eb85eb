/**
 * A TCP proxy in front of a test's redis-server that can lose Redis's answer to
 * one chosen command — the moment a crash makes worst: the command has run (and,
 * with `appendfsync always`, is in the AOF) but its client never hears so. The
 * client (ioredis) then sends it again on its next connection
 * (`autoResendUnfulfilledCommands`), so a command that is not safe to repeat
 * shows here, deterministically, what a Redis SIGKILL at that instant does.
 *
 * Everything else is passed through as it is; when Redis goes away, the proxy
 * drops the client's connection too, as the server's death would.
 */
import net from 'node:net';
import { reserveFreePorts } from '../shared/runtime/listen.js';

export interface HeldAnswer {
  /** The command that matched (its RESP bytes as latin1 text). */
  readonly command: string;
  /** Resolves once Redis has answered it (the answer is held back): the command has run. */
  readonly answered: Promise<void>;
}

export interface RedisAnswerProxy {
  /** Where clients connect instead of Redis. */
  readonly url: string;
  /**
   * From now on, the first client command whose bytes contain every one of
   * `patterns` is passed to Redis, and every answer on that connection from then
   * on is held back (never delivered). Resolves when such a command has gone through.
   * Name the command precisely (e.g. with the message id it is about): a loose
   * pattern can match another command carrying the same text — the audit relay
   * copying an earlier step's record — and wedge the client at the wrong moment.
   */
  holdAnswerTo(...patterns: readonly string[]): Promise<HeldAnswer>;
  close(): Promise<void>;
}

export async function startRedisAnswerProxy(redisUrl: string): Promise<RedisAnswerProxy> {
  const target = new URL(redisUrl);
  const [port] = await reserveFreePorts(1);
  const sockets = new Set<net.Socket>();
  let armed: { patterns: readonly string[]; found: (held: HeldAnswer) => void } | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let holding: (() => void) | undefined;
    const commands = new CommandReader();
    client.on('data', (chunk: Buffer) => {
      // Matched command by command (never across two: an earlier command's text — the audit relay copying a
      // record — and a later one's message id would together look like a command carrying both).
      for (const command of commands.push(chunk)) {
        if (!armed || holding || !armed.patterns.every((pattern) => command.includes(pattern))) continue;
        const { found } = armed;
        armed = undefined;
        const answered = new Promise<void>((resolve) => (holding = resolve));
        found({ command, answered });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (holding) holding();
      else client.write(chunk);
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', drop).on('error', drop);
    upstream.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url: `redis://127.0.0.1:${port}`,
    holdAnswerTo: (...patterns) => {
      if (patterns.length === 0) throw new Error('holdAnswerTo needs at least one pattern');
      return new Promise<HeldAnswer>((found) => (armed = { patterns, found }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Splits what a client sends into whole commands — RESP arrays of bulk strings, all that ioredis sends —
 * however the bytes were cut into chunks (a large command spans several; a pipeline puts many in one).
 */
class CommandReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The commands `chunk` completes, each as latin1 text (its bytes one for one). */
  push(chunk: Buffer): string[] {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const complete: string[] = [];
    let start = 0;
    for (let end = commandEnd(this.pending, start); end !== undefined; end = commandEnd(this.pending, start)) {
      complete.push(this.pending.toString('latin1', start, end));
      start = end;
    }
    this.pending = this.pending.subarray(start);
    return complete;
  }
}

/** Where the RESP command starting at `start` ends, or undefined while it is not all there. */
function commandEnd(bytes: Buffer, start: number): number | undefined {
  const lineAt = (at: number, marker: string): { value: number; next: number } | undefined => {
    if (at >= bytes.length) return undefined;
    if (bytes.toString('latin1', at, at + 1) !== marker) throw new Error(`not a RESP command: expected '${marker}' at byte ${at}`);
    const cr = bytes.indexOf('\r\n', at);
    return cr < 0 ? undefined : { value: Number(bytes.toString('latin1', at + 1, cr)), next: cr + 2 };
  };
  const head = lineAt(start, '*');
  if (!head) return undefined;
  let at = head.next;
  for (let i = 0; i < head.value; i++) {
    const bulk = lineAt(at, '$');
    if (!bulk) return undefined;
    at = bulk.next + bulk.value + 2;
    if (at > bytes.length) return undefined;
  }
  return at;
}
