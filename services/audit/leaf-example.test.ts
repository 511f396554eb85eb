/**
 * The README's worked example for auditors (Audit log → What a leaf hash
 * covers): its entry's canonical bytes and the leaf hashes printed for it —
 * which an auditor recomputes with sha256sum — are the log's own.
 */
import { readFileSync } from 'node:fs';
import { canonicalEntry, entryArgs, parseCanonicalEntry } from '../../shared/audit/audit-entry.js';
import { entryLeafHash, leafCanonical } from './domain/leaf.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README\'s worked example for auditors', () => {
  const example = /printf '%s' '(.+)' > entry\.json\n\$ \(printf '\\0'; cat entry\.json\) \| sha256sum\n([0-9a-f]{64}) {2}-\n.*\n([A-Za-z0-9+/]{43}=)\n/.exec(README);
  const after = README.slice(example?.index ?? 0);
  const layout2 = /in layout 2 —[^\n]*\n— gives `([0-9a-f]{64})`/.exec(after);
  const layout1 = /in layout 1 —\n[^\n]*\n— `([0-9a-f]{64})`/.exec(after);

  it('is an entry in layout 3 whose canonical bytes are the log\'s, byte for byte', () => {
    expect(example).not.toBeNull();
    const canonical = example![1]!;
    const { layout, id, entry } = parseCanonicalEntry(canonical);
    expect([layout, id]).toEqual([3, '1796536073718-0']);
    expect(canonicalEntry(entry, id!)).toBe(canonical);
    expect(leafCanonical(id!, entry, 0, 0)).toBe(canonical);
    // Its stream entry is those bytes without the id member.
    expect(entryArgs(entry)).toEqual(['entry', canonical.replace(`"id":"${id!}",`, '')]);
  });

  it('gives the leaf hashes printed for it, in layout 3, 2 and 1', () => {
    const { id, entry } = parseCanonicalEntry(example![1]!);
    const leaf = entryLeafHash(id!, entry, 0, 0);
    expect(leaf.toString('hex')).toBe(example![2]);
    expect(leaf.toString('base64')).toBe(example![3]);
    expect(layout2).not.toBeNull();
    expect(entryLeafHash(id!, { ...entry, v: '2' }, 0, 0).toString('hex')).toBe(layout2![1]);
    expect(layout1).not.toBeNull();
    expect(entryLeafHash(id!, { ...entry, v: '1' }, 0, 0).toString('hex')).toBe(layout1![1]);
    // A layout 1 log (no layout2From) hashes even an entry that says v 3 in layout 1 — not the printed layout 3 hash.
    expect(entryLeafHash(id!, entry, 0, undefined).toString('hex')).not.toBe(example![2]);
  });
});
