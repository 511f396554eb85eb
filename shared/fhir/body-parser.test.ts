/**
 * A body that stops arriving — fewer bytes than Content-Length announced, chunks that never end — is
 * refused with an audited 408 OperationOutcome once no byte came for the idle time, and the connection
 * is closed; so is one trickled slower than the minimum rate once its grace time is over. A body that
 * arrives in pieces but keeps coming is read as usual. Real sockets: the point is what a broken client's
 * connection sees. Short bounds only where a test waits for them to pass (`/stalled`, `/slow`); every
 * other body is read within the hub's own (10 s idle, 30 s grace), so a busy machine cannot turn its
 * answer into a 408.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import type { AuditSink, ExchangeRecord } from '../audit/exchange.js';
import { boundUnreadBody, hasBody } from '../http/body-limits.js';
import { startExchange } from './exchange-context.js';
import { fhirBodyParser, fhirErrorHandler } from './express.js';

/** The idle time of `/stalled` (tests wait for it to pass). */
const IDLE_MS = 300;
/** The grace time of `/slow`, whose minimum rate is 1,000 bytes/s (tests wait for it to pass). */
const SLOW_GRACE_MS = 500;
/** What is read of a body after its answer here (the hub's bound is 64 MiB): small, so the tests pass it quickly. */
const DRAIN_BYTES = 2 * 1024 * 1024;

let server: Server;
let port: number;
const audited: number[] = [];

beforeAll(async () => {
  const app = express();
  const audit: AuditSink = {
    record: async (record: ExchangeRecord) => {
      audited.push(record.httpStatus ?? 0);
      return 'audited';
    },
  };
  app.locals.audit = audit;
  app.use((req, res, next) => {
    startExchange(res, 'directory', `body-${audited.length}`);
    if (hasBody(req)) boundUnreadBody(req, res, DRAIN_BYTES, 60_000);
    next();
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const echo: express.RequestHandler = (req, res) => {
    res.json({ got: req.body as unknown });
  };
  app.post('/fhir/Basic', ...fhirBodyParser('1mb'), echo);
  app.post('/stalled/fhir/Basic', ...fhirBodyParser('1mb', { idleMs: IDLE_MS }), echo);
  app.post('/slow/fhir/Basic', ...fhirBodyParser('1mb', { idleMs: 60_000, graceMs: SLOW_GRACE_MS, minBytesPerSecond: 1000 }), echo);
  app.use(fhirErrorHandler(pino({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Writes `parts` to a fresh connection (waiting `gapMs` between them), then reads until the server closes it or `waitMs` passes. */
function exchange(parts: string[], gapMs = 0, waitMs = 20_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', reject);
    socket.on('connect', () => {
      parts.forEach((part, i) => setTimeout(() => socket.write(part), i * gapMs));
    });
  });
}

const head = (extra: string, prefix = '') => `POST ${prefix}/fhir/Basic HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n${extra}\r\n`;

describe('a request body that stops arriving', () => {
  it('fewer bytes than Content-Length: 408 OperationOutcome, audited, connection closed', async () => {
    const before = audited.length;
    const { text, closed } = await exchange([`${head('Content-Length: 100\r\n', '/stalled')}{}`]);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/Connection: close/i);
    expect(text).toMatch(/"resourceType":"OperationOutcome".*stopped arriving/);
    expect(closed).toBe(true);
    expect(audited.slice(before)).toEqual([408]);
  });

  it('a chunked body whose last chunk never comes: 408 too', async () => {
    const { text, closed } = await exchange([`${head('Transfer-Encoding: chunked\r\n', '/stalled')}2\r\n{}\r\n`]);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(closed).toBe(true);
  });

  it('a body that arrives in pieces, each within the idle time, is read as usual', async () => {
    const body = '{"resourceType":"Basic"}';
    const { text } = await exchange([`${head(`Content-Length: ${body.length}\r\nConnection: close\r\n`)}${body.slice(0, 5)}`, body.slice(5, 12), body.slice(12)], 150);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('"got":{"resourceType":"Basic"}');
  });
});

describe('a request body trickled slower than the minimum rate', () => {
  it('a byte at a time, never idle: 408 OperationOutcome once its grace time is over, audited, connection closed', async () => {
    const before = audited.length;
    const c = new Conversation();
    c.socket.write(`${head('Content-Length: 1000\r\n', '/slow')}{`);
    // A byte every 100 ms (10 bytes/s, a hundredth of the rate): the idle time (60 s) never passes; the grace does.
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(' ');
    }, 100);
    try {
      await c.until(() => c.closed, 'the connection closed after the 408');
    } finally {
      clearInterval(trickle);
    }
    expect(answers(c.text)).toEqual([408]);
    expect(c.text).toMatch(/Connection: close/i);
    expect(c.text).toMatch(/"resourceType":"OperationOutcome".*arriving too slowly/);
    expect(audited.slice(before)).toEqual([408]);
  });
});

/** One connection, written to step by step, its answers collected as they come. */
class Conversation {
  readonly socket: net.Socket;
  text = '';
  closed = false;
  writeFailed = false;

  constructor() {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.text += d.toString('utf8')));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => (this.writeFailed = true));
  }

  /** Resolves once `done()` holds, checking as the socket's events come; fails after a generous bound. */
  until(done: () => boolean, what: string, boundMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        if (done()) return resolve();
        if (Date.now() - started > boundMs) return reject(new Error(`not seen within ${boundMs} ms: ${what} (got ${JSON.stringify(this.text.slice(0, 300))})`));
        setTimeout(check, 20);
      };
      check();
    });
  }

  /** Writes `bytes` spaces in 64 KB pieces (chunked when asked), waiting for the socket to take each; stops if it closes. */
  async send(bytes: number, chunked = false): Promise<void> {
    const piece = Buffer.alloc(64 * 1024, 32);
    for (let sent = 0; sent < bytes && !this.socket.destroyed; ) {
      const part = piece.subarray(0, Math.min(piece.length, bytes - sent));
      sent += part.length;
      const data = chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part;
      if (!this.socket.write(data)) await new Promise<void>((resolve) => {
        this.socket.once('drain', resolve);
        this.socket.once('close', resolve);
      });
    }
  }

  end(): void {
    this.socket.destroy();
  }
}

const answers = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
const HEALTH = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
const LIMIT = 1024 * 1024;

describe('a body over the limit', () => {
  it('announced by Content-Length: 413 before a byte of it is sent, audited; the rest is read, and the connection serves the next request', async () => {
    const before = audited.length;
    const c = new Conversation();
    c.socket.write(head(`Content-Length: ${LIMIT + 1}\r\n`));
    await c.until(() => answers(c.text).length === 1, 'the 413 before the body');
    expect(answers(c.text)).toEqual([413]);
    expect(c.text).toMatch(/"resourceType":"OperationOutcome".*larger than this endpoint takes \(1mb\)/);
    expect(audited.slice(before)).toEqual([413]);
    // A client that sends its whole body before it reads (fetch, requests) is not cut off: the body is read to its end.
    await c.send(LIMIT + 1);
    c.socket.write(HEALTH);
    await c.until(() => answers(c.text).length === 2, 'the next request on the same connection');
    expect(answers(c.text)).toEqual([413, 200]);
    expect(c.writeFailed).toBe(false);
    c.end();
  });

  it('sent in chunks: 413 once its bytes pass the limit, not at its end; the connection serves the next request after it', async () => {
    const c = new Conversation();
    c.socket.write(head('Transfer-Encoding: chunked\r\n'));
    await c.send(LIMIT + 64 * 1024, true);
    await c.until(() => answers(c.text).length === 1, 'the 413 while the body is still open');
    expect(answers(c.text)).toEqual([413]);
    await c.send(64 * 1024, true);
    c.socket.write(`0\r\n\r\n${HEALTH}`);
    await c.until(() => answers(c.text).length === 2, 'the next request on the same connection');
    expect(answers(c.text)).toEqual([413, 200]);
    c.end();
  });

  it('far over it: the answer is sent at once, what follows is read up to the drain bound, then the connection is closed', async () => {
    const c = new Conversation();
    c.socket.write(head(`Content-Length: ${100 * LIMIT}\r\n`));
    await c.until(() => answers(c.text).length === 1, 'the 413 before the body');
    // Sends until the server closes: it must, well before the 100 MB announced (the bound here is 2 MB).
    await c.send(100 * LIMIT);
    await c.until(() => c.closed, 'the connection closed past the drain bound');
    expect(answers(c.text)).toEqual([413]);
    expect(c.socket.bytesWritten).toBeLessThan(50 * LIMIT);
  });

  it('a body under the limit is read as before', async () => {
    const body = `{"resourceType":"Basic","text":"${' '.repeat(1000)}"}`;
    const c = new Conversation();
    c.socket.write(`${head(`Content-Length: ${body.length}\r\n`)}${body}`);
    await c.until(() => answers(c.text).length === 1, 'the answer');
    expect(answers(c.text)).toEqual([200]);
    c.end();
  });
});
