/**
 * The raw-reply connection against a real Redis: pipelined commands answered
 * in order with the exact RESP bytes, replies far larger than one socket read,
 * nested arrays, nil, replies handed to a reader as they arrive, and an error
 * reply that fails only its own command.
 */
import type { Redis } from 'ioredis';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { RawReplyConnection } from './raw-replies.js';

let redis: Redis;
let raw: RawReplyConnection;
const prefix = uniquePrefix('raw');

beforeAll(async () => {
  redis = testRedis();
  await redis.ping();
  const { host, port } = redis.options;
  raw = await RawReplyConnection.connect({ host, port });
});

afterAll(async () => {
  raw.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('raw replies', () => {
  it('answers pipelined commands in order, each with the bytes Redis sent', async () => {
    await redis.set(`${prefix}:a`, 'héllo');
    const replies = await Promise.all([raw.command(['GET', `${prefix}:a`]), raw.command(['GET', `${prefix}:missing`]), raw.command(['PING']), raw.command(['STRLEN', `${prefix}:a`])]);
    expect(replies.map(String)).toEqual(['$6\r\nhéllo\r\n', '$-1\r\n', '+PONG\r\n', ':6\r\n']);
  });

  it('sends a batch of commands together and answers each in order', async () => {
    await redis.set(`${prefix}:b`, 'batched');
    const replies = await Promise.all(raw.batch(() => [raw.command(['GET', `${prefix}:b`]), raw.command(['PING']), raw.command(['GET', `${prefix}:missing`])]));
    expect(replies.map(String)).toEqual(['$7\r\nbatched\r\n', '+PONG\r\n', '$-1\r\n']);
  });

  it('hands back a reply spread over many socket reads whole, and the next one after it', async () => {
    const stream = `${prefix}:stream`;
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 30; i++) await redis.xadd(stream, '*', 'n', String(i), 'big', big);
    const [page, next] = await Promise.all([raw.command(['XRANGE', stream, '-', '+']), raw.command(['XLEN', stream])]);
    expect(page.length).toBeGreaterThan(30 * 100_000);
    expect(page.subarray(0, 6).toString()).toBe('*30\r\n*');
    expect(page.subarray(page.length - 2).toString()).toBe('\r\n');
    expect(String(next)).toBe(':30\r\n');
    // The bytes handed out stay put while later replies arrive.
    const copy = Buffer.from(page);
    await raw.command(['XRANGE', stream, '-', '+']);
    expect(page.equals(copy)).toBe(true);
  });

  it('hands each reply to its reader as soon as it is in, in order, and resolves with what the reader made of it', async () => {
    const stream = `${prefix}:pages`;
    for (let i = 0; i < 200; i++) await redis.xadd(stream, '*', 'n', String(i), 'pad', 'y'.repeat(5_000));
    const seen: string[] = [];
    const firstBytes = (reply: Buffer) => {
      seen.push(reply.subarray(0, 5).toString());
      return reply.length;
    };
    const lengths = await Promise.all([raw.read(['XRANGE', stream, '-', '+', 'COUNT', '100'], firstBytes), raw.read(['XLEN', stream], firstBytes), raw.read(['XRANGE', stream, '-', '+'], firstBytes)]);
    expect(seen).toEqual(['*100\r', ':200\r', '*200\r']);
    expect(lengths[2]).toBeGreaterThan(200 * 5_000);
    await expect(raw.read(['PING'], () => {
      throw new Error('the reader failed');
    })).rejects.toThrow('the reader failed');
    expect(String(await raw.command(['PING']))).toBe('+PONG\r\n');
  });

  it('fails only the command Redis refused', async () => {
    const [refused, fine] = await Promise.allSettled([raw.command(['NOSUCHCOMMAND']), raw.command(['PING'])]);
    expect(refused.status).toBe('rejected');
    expect(String((refused as PromiseRejectedResult).reason)).toContain('unknown command');
    expect(fine).toEqual({ status: 'fulfilled', value: Buffer.from('+PONG\r\n') });
  });
});
