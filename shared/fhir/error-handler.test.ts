/**
 * What the one error handler writes to the operator's log: a refusal of bad input is routine
 * (info), a 5xx the code chose to answer — a dependency unavailable, an agency simulated as down —
 * is a warning without a stack trace, and only an error nobody foresaw is logged as one with its
 * stack. The caller gets an OperationOutcome in every case, never the stack.
 */
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import type { AuditSink } from '../audit/exchange.js';
import { fhirErrorHandler } from './express.js';
import { badRequest, unavailable } from './outcome.js';

interface LogLine {
  level: number;
  msg: string;
  err?: { stack?: string };
}

function appLogging(lines: LogLine[]) {
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  const a = express();
  const audit: AuditSink = { record: async () => 'audited' };
  a.locals.audit = audit;
  a.get('/bad', () => {
    throw badRequest('the date is not one');
  });
  a.get('/down', () => {
    throw unavailable('rie-emergency is down (simulated)');
  });
  a.get('/bug', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id')");
  });
  a.use(fhirErrorHandler(log));
  return a;
}

const WARN = 40;
const ERROR = 50;

describe('the error handler’s log', () => {
  it('a chosen 503 is a warning naming the reason, without a stack trace', async () => {
    const lines: LogLine[] = [];
    const res = await request(appLogging(lines)).get('/down');
    expect(res.status).toBe(503);
    expect(lines).toEqual([expect.objectContaining({ level: WARN, msg: 'request not served' })]);
    expect(JSON.stringify(lines)).toContain('rie-emergency is down (simulated)');
    expect(lines[0]!.err).toBeUndefined();
  });

  it('an unforeseen error is logged as an error with its stack; the caller sees a plain 500 OperationOutcome', async () => {
    const lines: LogLine[] = [];
    const res = await request(appLogging(lines)).get('/bug');
    expect(res.status).toBe(500);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).not.toContain('Cannot read properties');
    expect(lines).toEqual([expect.objectContaining({ level: ERROR, msg: 'unhandled error' })]);
    expect(lines[0]!.err?.stack).toContain('TypeError');
  });

  it('a refusal of bad input is routine: info, no stack', async () => {
    const lines: LogLine[] = [];
    const res = await request(appLogging(lines)).get('/bad');
    expect(res.status).toBe(400);
    expect(lines).toEqual([expect.objectContaining({ level: 30, msg: 'request refused' })]);
  });
});
