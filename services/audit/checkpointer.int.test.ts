/**
 * When the log signs a checkpoint (config: every N entries, and at least every T seconds while
 * it grows), on the log's real store with a clock the test moves: the two triggers apart.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { Checkpointer } from './checkpointer.js';
import { Frontier } from './domain/tiles.js';

let audit: TestAudit;

beforeAll(async () => {
  audit = await startTestAudit({}, { startService: false });
});

afterAll(async () => {
  await audit.close();
});

/** A tree of `size` made-up leaves (the checkpointer signs whatever the appender's frontier holds). */
function treeOf(size: number): Frontier {
  const frontier = Frontier.empty();
  frontier.push(Array.from({ length: size }, (_, i) => createHash('sha256').update(`leaf ${i}`).digest()));
  return frontier;
}

describe('signing checkpoints', () => {
  it('signs once the log grew by N entries, and at least every T seconds while it grows — never when it has not grown', async () => {
    const t0 = Date.parse('2026-12-06T12:00:00.000Z');
    let now = t0;
    const checkpointer = new Checkpointer(audit.ctx.store, audit.ctx.signer, { checkpointEvery: 10, checkpointIntervalMs: 60_000 }, pino({ level: 'silent' }), () => new Date(now));
    const at = async (seconds: number, size: number) => {
      now = t0 + seconds * 1000;
      return (await checkpointer.maybeSign(treeOf(size)))?.size;
    };
    expect(await at(0, 3)).toBe(3); // the first entries of a log: nothing signed yet
    expect(await at(1, 8)).toBeUndefined(); // grew by 5 < N, 1 s < T
    expect(await at(2, 13)).toBe(13); // grew by 10 = N
    expect(await at(30, 14)).toBeUndefined(); // grew by 1, 28 s since the last
    expect(await at(63, 14)).toBe(14); // grew, and T has passed since the last
    expect(await at(500, 14)).toBeUndefined(); // T passed again, but the log did not grow: a quiet log keeps its checkpoint
    expect((await audit.ctx.store.allCheckpoints()).map((c) => c.size)).toEqual([3, 13, 14]);
  });
});
