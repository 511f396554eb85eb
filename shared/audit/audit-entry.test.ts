import fc from 'fast-check';
import { storedAuditEntry, toAuditEntry, toAuditEvent } from './audit-event.js';
import { canonicalJson } from '../canonical-json.js';
import { AUDIT_ENTRY_FIELDS, fullEventText, canonicalEntry, canonicalEntryRoom, entryArgs, eventOfEntry, parseAuditEntry, parseCanonicalEntry, storedEntry, writeCanonicalEntry, writeStoredCanonical, type AuditEntry, type EntryLayout } from './audit-entry.js';
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
  /** The same entry as writers of sessions 15-16 wrote it. */
  const entry2: AuditEntry = { ...entry, v: '2' };

  it('carries the flat fields an auditor scans and the full event', () => {
    expect(entry).toEqual({
      v: '3',
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

  it('writes a layout 3 entry as one field: its fields as one JSON object in layout order, the event as it is', () => {
    const args = entryArgs(entry);
    expect(args).toEqual(['entry', storedEntry(entry)]);
    expect(args[1]).toBe(`{${AUDIT_ENTRY_FIELDS.filter((n) => n !== 'event').map((n) => `${JSON.stringify(n)}:${JSON.stringify(entry[n])}`).join(',')},"event":${entry.event}}`);
    expect(parseAuditEntry(args)).toEqual(entry);
    const odd = { ...entry, requestId: 'quote " backslash \\ newline \n é 🙂 \u2028 }', agency: '' };
    expect(parseAuditEntry(entryArgs(odd))).toEqual(odd);
  });

  it('refuses a layout 3 value not exactly as the hub writes it (its bytes are what the leaf covers)', () => {
    const value = storedEntry(entry);
    for (const bad of [value.replace('"service":"alerts"', '"service":"al\\u0065rts"'), value.replace('{"v":"3",', '{"v":"2",'), value.replace('"outcome"', '"result"'), value.replace(',"event":{', ',"event":['), `${value} `]) {
      expect(() => parseAuditEntry(['entry', bad])).toThrow();
    }
  });

  it('writes the fields of a layout 2 entry in the fixed layout order and reads them back whatever order Redis gives', () => {
    const args = entryArgs(entry2);
    expect(args.filter((_, i) => i % 2 === 0)).toEqual([...AUDIT_ENTRY_FIELDS]);
    const reversed: string[] = [];
    for (let i = args.length - 2; i >= 0; i -= 2) reversed.push(args[i] as string, args[i + 1] as string);
    expect(parseAuditEntry(reversed)).toEqual(entry2);
  });

  it('refuses an entry missing a layout field rather than guess', () => {
    expect(() => parseAuditEntry(entryArgs(entry2).slice(0, -2))).toThrow(/event/);
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

  const ID = '1796536073718-0';

  it('serialises a layout 1 entry as its [name, value] pairs in layout order, the event a string', () => {
    const v1: AuditEntry = { ...entry, v: '1' };
    const canonical = canonicalEntry(v1, ID);
    expect(JSON.parse(canonical)).toEqual(AUDIT_ENTRY_FIELDS.map((name) => [name, v1[name]]));
    // Moving a separator between two fields changes the bytes.
    expect(canonicalEntry({ ...v1, agency: 'a,b', subject: '' }, ID)).not.toBe(canonicalEntry({ ...v1, agency: 'a', subject: 'b' }, ID));
    expect(parseCanonicalEntry(canonical)).toEqual({ layout: 1, entry: v1 });
  });

  it('serialises a layout 2 entry with its stream id first and the event as the JSON it is stored as', () => {
    const canonical = canonicalEntry(entry2, ID);
    expect(canonical).toBe(`[["id","${ID}"],${AUDIT_ENTRY_FIELDS.filter((n) => n !== 'event').map((n) => JSON.stringify([n, entry2[n]])).join(',')},["event",${entry2.event}]]`);
    expect(JSON.parse(canonical)).toEqual([['id', ID], ...AUDIT_ENTRY_FIELDS.map((name) => [name, name === 'event' ? event : entry2[name]])]);
    expect(parseCanonicalEntry(canonical)).toEqual({ layout: 2, id: ID, entry: entry2 });
    // The id is inside: the same entry under another id has other bytes.
    expect(canonicalEntry(entry2, '1796536073718-1')).not.toBe(canonical);
  });

  it('serialises a layout 3 entry as its stored value with the stream id as its first member', () => {
    const canonical = canonicalEntry(entry, ID);
    expect(canonical).toBe(`{"id":"${ID}",${storedEntry(entry).slice(1)}`);
    expect(JSON.parse(canonical)).toEqual({ id: ID, ...entry, event });
    expect(Object.keys(JSON.parse(canonical) as object)).toEqual(['id', ...AUDIT_ENTRY_FIELDS]);
    expect(parseCanonicalEntry(canonical)).toEqual({ layout: 3, id: ID, entry });
    expect(canonicalEntry(entry, '1796536073718-1')).not.toBe(canonical);
    // Only the bytes canonicalEntry writes: members reordered or spaced are not a canonical entry.
    expect(() => parseCanonicalEntry(canonical.replace('{"id"', '{ "id"'))).toThrow(/canonical form/);
    expect(() => parseCanonicalEntry(JSON.stringify({ ...JSON.parse(canonical), v: '3' }).replace(`"id":"${ID}",`, '').replace('{', `{"id":"${ID}",`))).not.toThrow();
  });

  it('writes a layout 4 entry (what the hub writes since session 18) as layout 3, v 4, the event in its stored form, and reads the full event back', () => {
    const entry4 = storedAuditEntry({ ...record, recorded: record.recorded! });
    expect(entry4).toEqual({ ...entry, v: '4', event: entry4.event });
    expect(entry4.event.length).toBeLessThan(entry.event.length / 2);
    const args = entryArgs(entry4);
    expect(args).toEqual(['entry', storedEntry(entry4)]);
    expect(args[1]!.startsWith('{"v":"4",')).toBe(true);
    const read = parseAuditEntry(args);
    expect(read).toEqual(entry4);
    expect(fullEventText(read)).toBe(entry.event);
    expect(eventOfEntry(read)).toEqual(event);
    // Its leaf covers the stored bytes, references and all, behind its id — as layout 3's does.
    const canonical = canonicalEntry(entry4, ID);
    expect(canonical).toBe(`{"id":"${ID}",${args[1]!.slice(1)}`);
    expect(parseCanonicalEntry(canonical)).toEqual({ layout: 4, id: ID, entry: entry4 });
    // An entry whose reference the vocabulary does not hold is still an entry (its leaf is its bytes), but no event.
    const unknown = { ...entry4, event: entry4.event.replace(/\{"#":\d+\}/, '{"#":999999}') };
    expect(parseAuditEntry(entryArgs(unknown))).toEqual(unknown);
    expect(() => eventOfEntry(unknown)).toThrow(/vocabulary/);
  });

  it('keeps the layouts apart: an entry cannot pass for another layout', () => {
    // The same values in another layout are other bytes, and each form says its own v.
    expect(new Set([1, 2, 3].map((l) => canonicalEntry(entry, ID, l as EntryLayout))).size).toBe(3);
    expect(canonicalEntry({ ...entry, v: '4' }, ID)).not.toBe(canonicalEntry(entry, ID));
    expect(() => parseCanonicalEntry(canonicalEntry({ ...entry, v: '2' }, ID, 4))).toThrow(/another v/);
    expect(() => parseCanonicalEntry(canonicalEntry(entry2, ID, 1))).toThrow(/says v 2/);
    expect(() => parseCanonicalEntry(canonicalEntry({ ...entry, v: '1' }, ID, 2))).toThrow(/another v/);
    expect(() => parseCanonicalEntry(canonicalEntry({ ...entry, v: '2' }, ID, 3))).toThrow(/another v/);
    // A layout 2 event that is not canonical JSON is not a canonical entry (its bytes would not be the stored ones).
    expect(() => parseCanonicalEntry(canonicalEntry(entry2, ID).replace('{"action"', '{ "action"'))).toThrow(/not canonical JSON/);
  });

  it('writes layout 3 canonical bytes straight from the stored value and id as Redis holds them, byte for byte what canonicalEntry gives', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 8, maxLength: 8 }), fc.stringMatching(/^\d{1,15}-\d{1,5}$/), (values, id) => {
        const e = { ...entry, ...Object.fromEntries(AUDIT_ENTRY_FIELDS.slice(1, 8).map((name, i) => [name, values[i]!])) } as AuditEntry;
        const source = Buffer.from(`xy${id}${storedEntry(e)}`, 'utf8');
        const out = Buffer.alloc(canonicalEntryRoom(source.length) + 3);
        const end = writeStoredCanonical(source, 2, 2 + id.length, 2 + id.length, source.length, out, 3);
        expect(out.subarray(3, end).toString('utf8')).toBe(canonicalEntry(parseAuditEntry(['entry', storedEntry(e)]), id, 3));
      }),
      { numRuns: 300 },
    );
  });

  it('writes the canonical bytes straight from the values as Redis holds them, byte for byte what canonicalEntry gives, in both layouts', () => {
    /** The values' and id's UTF-8 bytes side by side, as an XRANGE reply carries them, and their ranges. */
    const asStored = (e: AuditEntry, id: string) => {
      const bytes = [...AUDIT_ENTRY_FIELDS.map((name) => Buffer.from(e[name], 'utf8')), Buffer.from(id, 'utf8')];
      const ranges: number[] = [];
      let at = 3; // anything before the first value is skipped
      for (const b of bytes) ranges.push(at, (at += b.length));
      return { source: Buffer.concat([Buffer.from('xyz'), ...bytes]), ranges, decoded: parseAuditEntry(AUDIT_ENTRY_FIELDS.flatMap((name, i) => [name, bytes[i]!.toString('utf8')])) };
    };
    const written = (e: AuditEntry, id: string, layout: EntryLayout) => {
      const { source, ranges, decoded } = asStored(e, id);
      const out = Buffer.alloc(canonicalEntryRoom(source.length) + 5);
      const end = writeCanonicalEntry(source, ranges, layout, out, 5);
      return { bytes: out.subarray(5, end), expected: Buffer.from(canonicalEntry(decoded, Buffer.from(id, 'utf8').toString('utf8'), layout), 'utf8') };
    };
    for (const layout of [1, 2] as const) {
      const once = written({ ...entry2, requestId: 'quote " backslash \\ newline \n tab \t bell \u0007 del \u007f é 🙂 \u2028' }, ID, layout);
      expect(once.bytes.equals(once.expected)).toBe(true);
    }
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { minLength: AUDIT_ENTRY_FIELDS.length + 1, maxLength: AUDIT_ENTRY_FIELDS.length + 1 }),
        fc.constantFrom<EntryLayout>(1, 2),
        (values, layout) => {
          const { bytes, expected } = written(Object.fromEntries(AUDIT_ENTRY_FIELDS.map((name, i) => [name, values[i]!])) as AuditEntry, values[AUDIT_ENTRY_FIELDS.length]!, layout);
          expect(bytes.toString('hex')).toBe(expected.toString('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });
});
