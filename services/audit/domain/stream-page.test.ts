/**
 * Leaf hashes read from the raw bytes of an XRANGE reply are the ones the
 * log's appender computes from the decoded entry: for entries of either
 * layout (and layout 1 for every entry before the log's appender knew layout
 * 2), with fields in another order, with bytes that are not valid UTF-8; and an
 * entry missing a layout field gets no leaf hash an appended entry could have.
 */
import { entryArgs, parseAuditEntry } from '../../../shared/audit/audit-entry.js';
import { storedAuditEntry, toAuditEntry, toAuditEvent } from '../../../shared/audit/audit-event.js';
import { exchange } from '../../../test/audit.js';
import { entryLeafHash } from './leaf.js';
import { hashStreamPage, type PagePlace } from './stream-page.js';

type Field = string | Buffer;

/** The RESP bytes Redis sends for XRANGE over these entries. */
function xrangeReply(entries: ReadonlyArray<readonly [string, readonly Field[]]>): Buffer {
  const bulk = (v: Field) => Buffer.concat([Buffer.from(`$${Buffer.byteLength(v)}\r\n`), Buffer.from(v), Buffer.from('\r\n')]);
  return Buffer.concat([
    Buffer.from(`*${entries.length}\r\n`),
    ...entries.flatMap(([id, fields]) => [Buffer.from('*2\r\n'), bulk(id), Buffer.from(`*${fields.length}\r\n`), ...fields.map(bulk)]),
  ]);
}

const EVERY_LEAF_OWN_LAYOUT: PagePlace = { firstPosition: 0, layout2From: 0 };

function read(reply: Buffer, place = EVERY_LEAF_OWN_LAYOUT): { ids: string[]; leaves: string[] } {
  const ids: string[] = [];
  const leaves: string[] = [];
  const packed = hashStreamPage(reply, place, (bytes, start, end, index) => {
    ids.push(bytes.toString('latin1', start, end));
    expect(index).toBe(ids.length - 1);
  });
  for (let at = 0; at < packed.length; at += 32) leaves.push(packed.toString('hex', at, at + 32));
  expect(leaves).toHaveLength(ids.length);
  return { ids, leaves };
}

/** The leaf hash the appender gives entry `id` at `position` of a log whose leaves are in their own layout from `layout2From`. */
const appended = (id: string, fields: readonly string[], position = 0, layout2From: number | undefined = 0) => entryLeafHash(id, parseAuditEntry(fields), position, layout2From).toString('hex');
const asLayout1 = (fields: readonly string[]) => fields.map((v, i) => (i > 0 && fields[i - 1] === 'v' ? '1' : v));
/** Entry n as writers of session 17 wrote it (layout 3: one field), or as writers of sessions 15-16 did (`v` 2: nine fields). */
const made = (n: number, v: '2' | '3' = '3') => {
  const x = { ...exchange(`page-${n}`), recorded: '2026-12-06T10:00:00.000Z' };
  return entryArgs({ ...toAuditEntry(x, toAuditEvent(x)), v });
};
/** Entry n as the hub writes it since session 18 (layout 4: one field, the event's fixed parts by reference). */
const made4 = (n: number) => entryArgs(storedAuditEntry({ ...exchange(`page-${n}`), recorded: '2026-12-06T10:00:00.000Z' }));

describe('leaf hashes of a raw XRANGE page', () => {
  it('are the appender\'s leaf hashes of entries in the layout, with their ids, in order', () => {
    const entries = [1, 2, 3].map((n) => [`1733-${n}`, made(n)] as const);
    expect(read(xrangeReply(entries))).toEqual({ ids: ['1733-1', '1733-2', '1733-3'], leaves: entries.map(([id, f]) => appended(id, f)) });
    expect(read(xrangeReply([]))).toEqual({ ids: [], leaves: [] });
  });

  it('are layout 1, 2 or 3 as each entry says (v 1, v 2 in nine fields, v 3 in one), layouts 2 and 3 naming their ids, in one page', () => {
    const entries = [
      ['1733-1', asLayout1(made(1, '2'))],
      ['1733-2', made(2, '2')],
      ['1733-3', asLayout1(made(3, '2'))],
      ['1733-4', made(4)],
    ] as const;
    const { leaves } = read(xrangeReply(entries));
    expect(leaves).toEqual(entries.map(([id, f]) => appended(id, f)));
    expect(new Set(leaves).size).toBe(4);
    // Layouts 2 and 3 cover the id: the same entry under another id is another leaf; layout 1 does not.
    expect(read(xrangeReply([['1733-9', made(2, '2')]])).leaves[0]).not.toBe(leaves[1]);
    expect(read(xrangeReply([['1733-9', made(4)]])).leaves[0]).not.toBe(leaves[3]);
    expect(read(xrangeReply([['1733-9', asLayout1(made(1, '2'))]])).leaves[0]).toBe(leaves[0]);
  });

  it('are layout 4 for entries the hub writes since session 18: the stored bytes, references and all, behind the id — beside layouts 1-3 in one page', () => {
    const entries = [
      ['1733-1', asLayout1(made(1, '2'))],
      ['1733-2', made(2, '2')],
      ['1733-3', made(3)],
      ['1733-4', made4(4)],
      ['1733-5', made4(5)],
    ] as const;
    const { leaves } = read(xrangeReply(entries));
    expect(leaves).toEqual(entries.map(([id, f]) => appended(id, f)));
    expect(new Set(leaves).size).toBe(5);
    expect(read(xrangeReply([['1733-9', made4(4)]])).leaves[0]).not.toBe(leaves[3]);
    // The leaf covers the references, not their expansion: a reference changed is another leaf.
    const [name, value] = made4(6) as [string, string];
    const swapped = value.replace(/\{"#":(\d+)\}/, (_, n: string) => `{"#":${Number(n) + 1}}`);
    expect(swapped).not.toBe(value);
    const pair = read(xrangeReply([['1-1', [name, value]], ['1-1', [name, swapped]]])).leaves;
    expect(pair[0]).toBe(appended('1-1', [name, value]));
    expect(pair[1]).toBe(appended('1-1', [name, swapped]));
    expect(pair[1]).not.toBe(pair[0]);
  });

  it('hash a layout 3 value that is not as the hub writes it as it is, never as the entry it resembles', () => {
    const [name, value] = made(5) as [string, string];
    const respaced = value.replace('"service":', '"service": ');
    const { leaves } = read(xrangeReply([['1-1', [name, value]], ['1-2', [name, respaced]]]));
    expect(leaves[0]).toBe(appended('1-1', [name, value]));
    expect(leaves[1]).not.toBe(appended('1-2', [name, value]));
    expect(() => appended('1-2', [name, respaced])).toThrow(); // the appender would not take it
  });

  it('are layout 1 for every entry before the position the log\'s appender knew layout 2 from, whatever the entry says', () => {
    const entries = [10, 11, 12, 13].map((n) => [`1733-${n}`, made(n)] as const);
    const place = { firstPosition: 256, layout2From: 258 };
    const { leaves } = read(xrangeReply(entries), place);
    expect(leaves).toEqual(entries.map(([id, f], i) => appended(id, f, 256 + i, 258)));
    expect(leaves.slice(0, 2)).toEqual(entries.slice(0, 2).map(([id, f]) => appended(id, f, 0, Infinity)));
    expect(leaves.slice(2)).toEqual(entries.slice(2).map(([id, f]) => appended(id, f)));
    expect(leaves[0]).not.toBe(appended(entries[0]![0], entries[0]![1]));
  });

  it('are the appender\'s for fields in another order and for bytes that are not valid UTF-8', () => {
    const fields = made(4, '2');
    const reversed: string[] = [];
    for (let i = fields.length - 2; i >= 0; i -= 2) reversed.push(fields[i]!, fields[i + 1]!);
    const badBytes: Field[] = fields.map((v, i) => (i === 11 ? Buffer.concat([Buffer.from(v), Buffer.from([0xff, 0xfe])]) : v));
    const { leaves } = read(xrangeReply([['1-1', reversed], ['1-2', badBytes]]));
    expect(leaves[0]).toBe(appended('1-1', fields));
    expect(leaves[1]).toBe(appended('1-2', badBytes.map((v) => v.toString())));
  });

  it('gives an entry missing a layout field a hash no appended entry has', () => {
    const fields = made(5, '2');
    const withoutEvent = fields.slice(0, -2);
    const { leaves } = read(xrangeReply([['1-1', withoutEvent]]));
    expect(leaves[0]).not.toBe(appended('1-1', [...withoutEvent, 'event', '']));
    expect(leaves[0]).toHaveLength(64);
  });

  it('refuses bytes that are not an XRANGE reply', () => {
    expect(() => read(Buffer.from('+OK\r\n'))).toThrow('not an XRANGE reply');
  });
});
