/**
 * Verifies the whole log as stored (domain/verification.ts does the checking):
 * reads every entry bundle and level-0 hash tile in order, a few tiles per
 * round trip, and every checkpoint. What `infoshare audit verify` runs against
 * the hub's Redis; the result is kept for the auditor's page (`lastVerification`).
 */
import type { Redis } from 'ioredis';
import type { NoteVerifier } from './domain/checkpoint.js';
import { leafHashesOfBundle, TILE_WIDTH, unpackHashes } from './domain/tiles.js';
import { LogVerification, type VerificationReport } from './domain/verification.js';
import type { AuditKeys } from './keys.js';
import type { LogStore } from './store.js';

/** Tiles read per round trip: ~256 entries each, so a few MB in flight. */
const TILES_PER_READ = 16;

export async function verifyStoredLog(redis: Redis, keys: AuditKeys, store: LogStore, verifier: NoteVerifier, origin: string): Promise<VerificationReport> {
  // Checkpoints first, then the size: on a live log the size read is at least every checkpoint read.
  const checkpoints = await store.allCheckpoints();
  const { size } = await store.state();
  const verification = new LogVerification(
    checkpoints.map((c) => c.note),
    verifier,
    origin,
    size,
  );
  const tiles = Math.ceil(size / TILE_WIDTH);
  let next = readTiles(redis, keys, 0, Math.min(TILES_PER_READ, tiles));
  for (let tile = 0; tile < tiles; tile += TILES_PER_READ) {
    const read = await next;
    // The next round trip is in flight while this one is hashed.
    const following = tile + TILES_PER_READ;
    if (following < tiles) next = readTiles(redis, keys, following, Math.min(TILES_PER_READ, tiles - following));
    read.forEach(({ bundle, hashes }, i) => {
      const leaves = leafHashesOfBundle(bundle);
      // On a live log the last tile may have grown since the size was read: verify up to that size.
      const room = size - (tile + i) * TILE_WIDTH;
      verification.addHashedTile(leaves.hashes.slice(0, room), unpackHashes(hashes).slice(0, room), leaves.truncated);
    });
  }
  return verification.finish();
}

async function readTiles(redis: Redis, keys: AuditKeys, first: number, count: number): Promise<{ bundle: Buffer; hashes: Buffer }[]> {
  // One transaction: a tile's entries and hashes read together, never half-way through an append.
  const transaction = redis.multi();
  for (let t = first; t < first + count; t++) transaction.getBuffer(keys.entryTile(t)).getBuffer(keys.hashTile(0, t));
  const results = (await transaction.exec()) ?? [];
  const out: { bundle: Buffer; hashes: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const [bundleErr, bundle] = results[2 * i] ?? [];
    const [hashErr, hashes] = results[2 * i + 1] ?? [];
    if (bundleErr) throw bundleErr;
    if (hashErr) throw hashErr;
    out.push({ bundle: (bundle as Buffer | null) ?? Buffer.alloc(0), hashes: (hashes as Buffer | null) ?? Buffer.alloc(0) });
  }
  return out;
}
