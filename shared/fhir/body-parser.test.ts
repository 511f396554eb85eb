/**
 * A body that stops arriving — fewer bytes than Content-Length announced, chunks that never end — is
 * refused with an audited 408 OperationOutcome once no byte came for the idle time, and the connection
 * is closed; a body that arrives slowly but keeps coming is read as usual. Real sockets: the point is
 * what a broken client's connection sees.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import type { AuditSink, ExchangeRecord } from '../audit/exchange.js';
import { startExchange } from './exchange-context.js';
import { fhirBodyParser, fhirErrorHandler } from './express.js';

const IDLE_MS = 300;

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
  app.use((_req, res, next) => {
    startExchange(res, 'directory', `body-${audited.length}`);
    next();
  });
  app.use(...fhirBodyParser('1mb', IDLE_MS));
  app.post('/fhir/Basic', (req, res) => {
    res.json({ got: req.body as unknown });
  });
  app.use(fhirErrorHandler(pino({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Writes `parts` to a fresh connection (waiting `gapMs` between them), then reads until the server closes it or `waitMs` passes. */
function exchange(parts: string[], gapMs = 0, waitMs = 3000): Promise<{ text: string; closed: boolean }> {
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

const head = (extra: string) => `POST /fhir/Basic HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n${extra}\r\n`;

describe('a request body that stops arriving', () => {
  it('fewer bytes than Content-Length: 408 OperationOutcome, audited, connection closed', async () => {
    const before = audited.length;
    const { text, closed } = await exchange([`${head('Content-Length: 100\r\n')}{}`]);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/Connection: close/i);
    expect(text).toMatch(/"resourceType":"OperationOutcome".*stopped arriving/);
    expect(closed).toBe(true);
    expect(audited.slice(before)).toEqual([408]);
  });

  it('a chunked body whose last chunk never comes: 408 too', async () => {
    const { text, closed } = await exchange([`${head('Transfer-Encoding: chunked\r\n')}2\r\n{}\r\n`]);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(closed).toBe(true);
  });

  it('a body that arrives in pieces, each within the idle time, is read as usual', async () => {
    const body = '{"resourceType":"Basic"}';
    const { text } = await exchange([`${head(`Content-Length: ${body.length}\r\nConnection: close\r\n`)}${body.slice(0, 5)}`, body.slice(5, 12), body.slice(12)], IDLE_MS / 2);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('"got":{"resourceType":"Basic"}');
  });
});
