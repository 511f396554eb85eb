import { toAuditEvent } from './audit-event.js';
import { canonicalJson } from '../canonical-json.js';
import { AUDIT_ENTRY_FIELDS, canonicalEntry, entryArgs, eventOfEntry, parseAuditEntry, toAuditEntry } from './audit-entry.js';
import type { ExchangeRecord } from './exchange.js';

const record: ExchangeRecord = {
  requestId: 'req-42',
  service: 'alerts',
  type: 'disclosure',
  subtype: 'create',
  action: 'C',
  outcome: '0',
  httpStatus: 201,
  method: 'POST',
  path: '/fhir/Flag',
  agent: { clientId: 'sw-sys', agency: 'sw-edinburgh' },
  subject: 'Patient/p1',
  entities: [{ reference: 'Flag/f1', role: 'data' }],
  recipientAgency: 'ae-rie',
  criteria: ['MA-L4', 'MA-L3'],
  recorded: '2026-03-02T10:15:00.000Z',
};

describe('audit stream entry', () => {
  const event = toAuditEvent(record);
  const entry = toAuditEntry(record, event);

  it('carries the flat fields an auditor scans and the full event', () => {
    expect(entry).toEqual({
      v: '1',
      recorded: '2026-03-02T10:15:00.000Z',
      service: 'alerts',
      outcome: '0',
      criteria: 'MA-L3,MA-L4',
      requestId: 'req-42',
      agency: 'sw-edinburgh',
      subject: 'Patient/p1',
      event: canonicalJson(event),
    });
    expect(eventOfEntry(entry)).toEqual(event);
  });

  it('writes the fields in the fixed layout order and reads them back whatever order Redis gives', () => {
    const args = entryArgs(entry);
    expect(args.filter((_, i) => i % 2 === 0)).toEqual([...AUDIT_ENTRY_FIELDS]);
    const reversed: string[] = [];
    for (let i = args.length - 2; i >= 0; i -= 2) reversed.push(args[i] as string, args[i + 1] as string);
    expect(parseAuditEntry(reversed)).toEqual(entry);
  });

  it('refuses an entry missing a layout field rather than guess', () => {
    expect(() => parseAuditEntry(entryArgs(entry).slice(0, -2))).toThrow(/event/);
  });

  it('leaves absent agency and subject empty, so every entry has the same fields', () => {
    const anonymous = { ...record, agent: {}, subject: undefined, criteria: [] };
    const e = toAuditEntry(anonymous, toAuditEvent(anonymous));
    expect([e.agency, e.subject, e.criteria]).toEqual(['', '', '']);
  });

  it('stores the event as canonical JSON, so re-serialising a parsed event gives the stored bytes', () => {
    expect(canonicalJson(JSON.parse(entry.event))).toBe(entry.event);
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined })).toBe('{"a":[true,null,"x"],"b":1}');
  });

  it('serialises an entry for the hash chain unambiguously, in layout order', () => {
    const canonical = canonicalEntry(entry);
    expect(JSON.parse(canonical)).toEqual(AUDIT_ENTRY_FIELDS.map((name) => [name, entry[name]]));
    // Moving a separator between two fields changes the bytes.
    expect(canonicalEntry({ ...entry, agency: 'a,b', subject: '' })).not.toBe(canonicalEntry({ ...entry, agency: 'a', subject: 'b' }));
  });
});
