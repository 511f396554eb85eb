/**
 * Leaf hashes read from the raw bytes of an XRANGE reply are the ones the
 * log's appender computes from the decoded entry: for entries in the layout,
 * with fields in another order, with bytes that are not valid UTF-8; and an
 * entry missing a layout field gets no leaf hash an appended entry could have.
 */
import { canonicalEntry, entryArgs, parseAuditEntry, toAuditEntry } from '../../../shared/audit/audit-entry.js';
import { toAuditEvent } from '../../../shared/audit/audit-event.js';
import { exchange } from '../../../test/audit.js';
import { leafHashOfText } from './merkle.js';
import { hashStreamPage } from './stream-page.js';

type Field = string | Buffer;

/** The RESP bytes Redis sends for XRANGE over these entries. */
function xrangeReply(entries: ReadonlyArray<readonly [string, readonly Field[]]>): Buffer {
  const bulk = (v: Field) => Buffer.concat([Buffer.from(`$${Buffer.byteLength(v)}\r\n`), Buffer.from(v), Buffer.from('\r\n')]);
  return Buffer.concat([
    Buffer.from(`*${entries.length}\r\n`),
    ...entries.flatMap(([id, fields]) => [Buffer.from('*2\r\n'), bulk(id), Buffer.from(`*${fields.length}\r\n`), ...fields.map(bulk)]),
  ]);
}

function read(reply: Buffer): { ids: string[]; leaves: string[] } {
  const ids: string[] = [];
  const leaves: string[] = [];
  hashStreamPage(reply, (bytes, start, end, leaf) => {
    ids.push(bytes.toString('latin1', start, end));
    leaves.push(leaf.toString('hex'));
  });
  return { ids, leaves };
}

const appended = (fields: readonly string[]) => leafHashOfText(canonicalEntry(parseAuditEntry(fields))).toString('hex');
const made = (n: number) => {
  const x = { ...exchange(`page-${n}`), recorded: '2026-12-06T10:00:00.000Z' };
  return entryArgs(toAuditEntry(x, toAuditEvent(x)));
};

describe('leaf hashes of a raw XRANGE page', () => {
  it('are the appender\'s leaf hashes of entries in the layout, with their ids, in order', () => {
    const entries = [1, 2, 3].map((n) => [`1733-${n}`, made(n)] as const);
    expect(read(xrangeReply(entries))).toEqual({ ids: ['1733-1', '1733-2', '1733-3'], leaves: entries.map(([, f]) => appended(f)) });
    expect(read(xrangeReply([]))).toEqual({ ids: [], leaves: [] });
  });

  it('are the appender\'s for fields in another order and for bytes that are not valid UTF-8', () => {
    const fields = made(4);
    const reversed: string[] = [];
    for (let i = fields.length - 2; i >= 0; i -= 2) reversed.push(fields[i]!, fields[i + 1]!);
    const badBytes: Field[] = fields.map((v, i) => (i === 11 ? Buffer.concat([Buffer.from(v), Buffer.from([0xff, 0xfe])]) : v));
    const { leaves } = read(xrangeReply([['1-1', reversed], ['1-2', badBytes]]));
    expect(leaves[0]).toBe(appended(fields));
    expect(leaves[1]).toBe(appended(badBytes.map((v) => v.toString())));
  });

  it('gives an entry missing a layout field a hash no appended entry has', () => {
    const fields = made(5);
    const withoutEvent = fields.slice(0, -2);
    const { leaves } = read(xrangeReply([['1-1', withoutEvent]]));
    expect(leaves[0]).not.toBe(appended([...withoutEvent, 'event', '']));
    expect(leaves[0]).toHaveLength(64);
  });

  it('refuses bytes that are not an XRANGE reply', () => {
    expect(() => read(Buffer.from('+OK\r\n'))).toThrow('not an XRANGE reply');
  });
});
