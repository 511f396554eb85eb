/**
 * Verifies the whole log as stored (domain/verification.ts does the checking):
 * reads every entry bundle and level-0 hash tile in order, a few tiles per
 * round trip, and every checkpoint. What `infoshare audit verify` runs against
 * the hub's Redis; the result is kept for the auditor's page (`lastVerification`).
 */
import type { Redis } from 'ioredis';
import type { NoteVerifier } from './domain/checkpoint.js';
import { readBundle, TILE_WIDTH, unpackHashes } from './domain/tiles.js';
import { LogVerification, type VerificationReport } from './domain/verification.js';
import type { AuditKeys } from './keys.js';
import type { LogStore } from './store.js';

/** Tiles read per round trip: ~256 entries each, so a few MB in flight. */
const TILES_PER_READ = 16;

export async function verifyStoredLog(redis: Redis, keys: AuditKeys, store: LogStore, verifier: NoteVerifier, origin: string): Promise<VerificationReport> {
  const [{ size }, checkpoints] = await Promise.all([store.state(), store.allCheckpoints()]);
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
    for (const { bundle, hashes } of read) {
      const { entries, truncated } = readBundle(bundle);
      verification.addTile(entries, unpackHashes(hashes), truncated);
    }
  }
  return verification.finish();
}

async function readTiles(redis: Redis, keys: AuditKeys, first: number, count: number): Promise<{ bundle: Buffer; hashes: Buffer }[]> {
  const pipeline = redis.pipeline();
  for (let t = first; t < first + count; t++) pipeline.getBuffer(keys.entryTile(t)).getBuffer(keys.hashTile(0, t));
  const results = (await pipeline.exec()) ?? [];
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
