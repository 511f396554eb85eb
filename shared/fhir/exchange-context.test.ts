import type { Request, Response } from 'express';
import type { AuditSink, ExchangeRecord } from '../audit/exchange.js';
import { addDecisions, auditExchange, describeExchange, startExchange, type ExchangeDecisions } from './exchange-context.js';

/** What the sink was given: the records, in order. */
class KeptRecords implements AuditSink {
  readonly records: ExchangeRecord[] = [];
  record(exchange: ExchangeRecord): Promise<string> {
    this.records.push(exchange);
    return Promise.resolve(String(this.records.length));
  }
}

function exchange(): { req: Request; res: Response } {
  const req = { method: 'GET', originalUrl: '/fhir/CarePlan/cp-1', path: '/fhir/CarePlan/cp-1', ip: '127.0.0.1', route: { path: '/fhir/CarePlan/:id' } } as unknown as Request;
  const res = { locals: { auth: { sub: 'edinburgh-education', agency: 'edinburgh-education' } }, req } as unknown as Response;
  startExchange(res, 'plans', 'req-1');
  describeExchange(res, { subtype: 'read', action: 'R', entities: [{ reference: 'CarePlan/cp-1', role: 'domain-resource' }], purpose: 'care-planning', criteria: ['AP-L4'] });
  return { req, res };
}

const consentDecisions = (permit: boolean): ExchangeDecisions => ({
  entities: [
    { reference: 'CarePlan/cp-1', role: 'domain-resource', decision: permit ? { permit, basis: 'consent', consent: 'Consent/c-1' } : { permit, basis: 'no-consent' } },
    ...(permit ? [{ reference: 'Consent/c-1', role: 'consent' as const }] : []),
  ],
  patterns: permit ? ['AuthZ-Consent', 'disclose'] : ['AuthZ-Consent'],
  criteria: ['PD-L5'],
  criteriaOnDenial: permit ? [] : ['PD-L5'],
  purpose: 'care-planning',
  ...(permit ? { recipientAgency: 'edinburgh-education' } : {}),
});

describe('auditExchange with access decisions', () => {
  it('writes ONE record: the decided resource the exchange names carries its decision, the Consent is added, the patterns and criteria join its own', async () => {
    const { req, res } = exchange();
    addDecisions(res, () => consentDecisions(true));
    const sink = new KeptRecords();
    await auditExchange(req, res, sink, 200);
    expect(sink.records).toHaveLength(1);
    const [record] = sink.records;
    expect(record!.entities).toEqual([
      { reference: 'CarePlan/cp-1', role: 'domain-resource', decision: { permit: true, basis: 'consent', consent: 'Consent/c-1' } },
      { reference: 'Consent/c-1', role: 'consent' },
    ]);
    expect(record!.patterns).toEqual(['AuthZ-Consent', 'disclose']);
    expect(record!.criteria).toEqual(['AP-L4', 'PD-L5']);
    expect(record!.recipientAgency).toBe('edinburgh-education');
    expect(record!.trigger).toBeUndefined();
  });

  it('claims the decisions’ denial criteria for a refusal (4xx) with the reason the audit keeps, and none for the hub failing (5xx)', async () => {
    const refused = exchange();
    addDecisions(refused.res, () => consentDecisions(false));
    describeExchange(refused.res, { outcomeDescription: 'denied, answered as an unknown id: no Consent in force' });
    const sink = new KeptRecords();
    await auditExchange(refused.req, refused.res, sink, 404, 'CarePlan/cp-1 is not known');
    expect(sink.records[0]!.criteria).toEqual(['PD-L5']);
    expect(sink.records[0]!.outcomeDescription).toBe('denied, answered as an unknown id: no Consent in force');

    const failed = exchange();
    addDecisions(failed.res, () => consentDecisions(false));
    await auditExchange(failed.req, failed.res, sink, 503, 'Redis is away');
    expect(sink.records[1]!.criteria).toEqual([]);
    expect(sink.records[1]!.outcomeDescription).toBe('Redis is away');
  });

  it('writes a record without decisions exactly as before (no patterns) when nothing was decided', async () => {
    const { req, res } = exchange();
    addDecisions(res, () => undefined);
    const sink = new KeptRecords();
    await auditExchange(req, res, sink, 200);
    expect(sink.records[0]!.patterns).toBeUndefined();
    expect(sink.records[0]!.entities).toEqual([{ reference: 'CarePlan/cp-1', role: 'domain-resource' }]);
  });
});
