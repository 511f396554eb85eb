/**
 * Verification fed tile summaries (what worker threads send back) against the
 * tree computed leaf by leaf: the same root at every checkpoint size — inside a
 * tile, at its end, across tiles — and the same first bad position when a tile
 * in the middle is short or an entry does not match its stored hash.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { noteVerifier, signCheckpoint } from './checkpoint.js';
import { leafHash, rootOfHashes } from './merkle.js';
import { TILE_WIDTH } from './tiles.js';
import { LogVerification, claimedCheckpointSizes, summariseTile } from './verification.js';

const ORIGIN = 'fhir.infoshare.scot/test/audit-log';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifier = noteVerifier(ORIGIN, keys.publicKey);
const leaves = Array.from({ length: 4 * TILE_WIDTH + 37 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
/** Hashes packed as the log's tiles keep them. */
const packed = (hashes: readonly Buffer[]) => Buffer.concat(hashes);

/** Signed checkpoints of the honest log at these sizes. */
function checkpointsAt(sizes: readonly number[]): string[] {
  return sizes.map((size) => signCheckpoint({ origin: ORIGIN, size, rootHash: rootOfHashes(leaves.slice(0, size)) }, ORIGIN, keys.privateKey));
}

/** Verifies `size` leaves cut into tiles, the entries of each tile possibly changed by `damage`. */
function verifyTiles(size: number, checkpointSizes: readonly number[], damage: (tile: number, hashes: Buffer[]) => Buffer[] = (_, h) => h) {
  return verifyNotes(size, checkpointsAt(checkpointSizes), damage, 'verified');
}

/**
 * Verifies `size` leaves against these notes, tiles cut at the sizes of the checkpoints that opened ('verified') or
 * at every size a note names, signature unchecked ('claimed': what log-verify.ts does, to start hashing sooner).
 */
function verifyNotes(size: number, notes: readonly string[], damage: (tile: number, hashes: Buffer[]) => Buffer[], cuts: 'verified' | 'claimed') {
  const verification = new LogVerification(notes, verifier, ORIGIN, size);
  const cutSizes = cuts === 'verified' ? verification.checkpointSizes : claimedCheckpointSizes(notes);
  for (let tile = 0; tile * TILE_WIDTH < size; tile++) {
    const stored = leaves.slice(tile * TILE_WIDTH, Math.min(size, (tile + 1) * TILE_WIDTH));
    verification.addTileSummary(summariseTile(tile * TILE_WIDTH, packed(damage(tile, [...stored])), packed(stored), { expected: (i) => `1-${tile * TILE_WIDTH + i}` }, cutSizes));
  }
  return verification.finish();
}

describe('verification from tile summaries', () => {
  it('gives the root of the leaves and checks every checkpoint, inside tiles and at their ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: leaves.length }), fc.uniqueArray(fc.integer({ min: 1, max: leaves.length }), { maxLength: 12 }), (size, wanted) => {
        const sizes = wanted.filter((s) => s <= size);
        const report = verifyTiles(size, sizes);
        expect(report).toMatchObject({ ok: true, size, checkpointsChecked: sizes.length, problems: [] });
        expect(report.root).toBe(rootOfHashes(leaves.slice(0, size)).toString('base64'));
      }),
      { numRuns: 60 },
    );
  });

  it('names an altered entry exactly, with the checkpoints after it failing and those before it holding', () => {
    const report = verifyTiles(leaves.length, [100, 300, 700, 1000], (tile, hashes) => (tile === 1 ? hashes.map((h, i) => (i === 333 - TILE_WIDTH ? leafHash(Buffer.from('forged')) : h)) : hashes));
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(333);
    expect(report.problems[0]).toBe('entry 333 (stream entry 1-333) does not give its stored leaf hash: altered or moved');
    expect(report.problems.filter((p) => p.includes('do not give the root'))).toHaveLength(2);
  });

  it('goes on leaf by leaf after a short tile in the middle: later tiles shift, and the first bad position is where the entry went', () => {
    const report = verifyTiles(leaves.length, [200, 600], (tile, hashes) => (tile === 0 ? hashes.filter((_, i) => i !== 150) : hashes));
    expect(report.ok).toBe(false);
    expect(report.size).toBe(leaves.length - 1);
    expect(report.firstBadPosition).toBe(150);
    expect(report.problems.join('\n')).toContain('do not match their stored leaf hashes');
  });

  it('reports the same when tiles are also cut at sizes only unverifiable notes name (forged, unsigned, another log\'s)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = signCheckpoint({ origin: ORIGIN, size: 290, rootHash: rootOfHashes(leaves.slice(0, 290)) }, ORIGIN, other.privateKey);
    const unsigned = `${ORIGIN}\n310\n${rootOfHashes(leaves.slice(0, 310)).toString('base64')}\n\n`;
    const foreign = signCheckpoint({ origin: 'elsewhere/log', size: 320, rootHash: rootOfHashes(leaves.slice(0, 320)) }, 'elsewhere/log', keys.privateKey);
    const notes = [...checkpointsAt([100, 700]), forged, unsigned, foreign];
    expect(claimedCheckpointSizes(notes)).toEqual([100, 290, 310, 320, 700]);
    const alterAt = (position: number) => (tile: number, hashes: Buffer[]) => hashes.map((h, i) => (tile * TILE_WIDTH + i === position ? leafHash(Buffer.from('forged')) : h));
    for (const position of [50, 280, 300, 333, 800]) {
      const claimed = verifyNotes(leaves.length, notes, alterAt(position), 'claimed');
      expect(claimed).toEqual(verifyNotes(leaves.length, notes, alterAt(position), 'verified'));
      expect(claimed).toMatchObject({ ok: false, firstBadPosition: position, checkpointsChecked: 2 });
    }
  });

  it('names the position where the stream ids part from the log\'s: an entry deleted, or one inserted', () => {
    const ids = (tile: number, count: number) => (i: number) => (i < count ? `1-${(tile * TILE_WIDTH + i) * 10}` : undefined);
    const deleted = new LogVerification([], verifier, ORIGIN, 2 * TILE_WIDTH);
    // Tile 0 lost the entry at 40: 255 entries read, the 41st the log's 42nd; tile 1 is whole.
    const short = leaves.slice(0, TILE_WIDTH).filter((_, i) => i !== 40);
    deleted.addTileSummary(summariseTile(0, packed(short), packed(leaves.slice(0, TILE_WIDTH)), { expected: ids(0, TILE_WIDTH), firstWrong: { offset: 40, found: '1-410' } }, []));
    deleted.addTileSummary(summariseTile(TILE_WIDTH, packed(leaves.slice(TILE_WIDTH, 2 * TILE_WIDTH)), packed(leaves.slice(TILE_WIDTH, 2 * TILE_WIDTH)), { expected: ids(1, TILE_WIDTH) }, []));
    const report = deleted.finish();
    expect(report).toMatchObject({ ok: false, firstBadPosition: 40, size: 2 * TILE_WIDTH - 1 });
    expect(report.problems[0]).toBe('entry 40 (stream entry 1-400) is missing from the audit stream: deleted');

    const inserted = new LogVerification([], verifier, ORIGIN, TILE_WIDTH);
    const extra = [...leaves.slice(0, 7), leafHash(Buffer.from('inserted')), ...leaves.slice(7, TILE_WIDTH)];
    inserted.addTileSummary(summariseTile(0, packed(extra), packed(leaves.slice(0, TILE_WIDTH)), { expected: ids(0, TILE_WIDTH), firstWrong: { offset: 7, found: '1-65' } }, []));
    const insertedReport = inserted.finish();
    expect(insertedReport.firstBadPosition).toBe(7);
    expect(insertedReport.problems[0]).toContain('which the log never appended: inserted');
  });
});
