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
  /** The client's bytes that matched (the command, with any others pipelined with it). */
  readonly command: string;
  /** Resolves once Redis has answered it (the answer is held back): the command has run. */
  readonly answered: Promise<void>;
}

export interface RedisAnswerProxy {
  /** Where clients connect instead of Redis. */
  readonly url: string;
  /**
   * From now on, the first client command whose bytes contain `pattern` is passed
   * to Redis, and every answer on that connection from then on is held back
   * (never delivered). Resolves when such a command has gone through.
   */
  holdAnswerTo(pattern: string): Promise<HeldAnswer>;
  close(): Promise<void>;
}

export async function startRedisAnswerProxy(redisUrl: string): Promise<RedisAnswerProxy> {
  const target = new URL(redisUrl);
  const [port] = await reserveFreePorts(1);
  const sockets = new Set<net.Socket>();
  let armed: { pattern: string; found: (held: HeldAnswer) => void } | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let holding: (() => void) | undefined;
    // The end of the previous chunk, so a command split across two chunks still matches.
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      tail = text.slice(-1024);
      if (armed && !holding && text.includes(armed.pattern)) {
        const { found } = armed;
        armed = undefined;
        const answered = new Promise<void>((resolve) => (holding = resolve));
        found({ command: text, answered });
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
    holdAnswerTo: (pattern) => new Promise<HeldAnswer>((found) => (armed = { pattern, found })),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
