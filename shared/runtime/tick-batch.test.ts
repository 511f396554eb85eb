import { sharedRead, TickBatch } from './tick-batch.js';

describe('TickBatch', () => {
  it('runs the calls made in one event-loop turn as one group and gives each caller its own result', async () => {
    const groups: number[][] = [];
    const batch = new TickBatch<number, string>(async (inputs) => {
      groups.push([...inputs]);
      return inputs.map((n) => `#${n}`);
    });
    const results = await Promise.all([batch.submit(1), batch.submit(2), batch.submit(3)]);
    expect(results).toEqual(['#1', '#2', '#3']);
    expect(groups).toEqual([[1, 2, 3]]);
    // A later turn is a new group.
    expect(await batch.submit(4)).toBe('#4');
    expect(groups).toEqual([[1, 2, 3], [4]]);
  });

  it('sends a full group at once, so no group grows past its size', async () => {
    const groups: number[][] = [];
    const batch = new TickBatch<number, number>(async (inputs) => {
      groups.push([...inputs]);
      return inputs;
    }, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.submit(n)))).toEqual([1, 2, 3, 4, 5]);
    expect(groups).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails every caller of a group whose run failed, and the next group runs again', async () => {
    let fail = true;
    const batch = new TickBatch<number, number>(async (inputs) => {
      if (fail) throw new Error('redis went away');
      return inputs;
    });
    const failed = await Promise.allSettled([batch.submit(1), batch.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batch.submit(3)).toBe(3);
  });

  it('fails the group when run answers a different number of results than it was given', async () => {
    const batch = new TickBatch<number, number>(async () => [1]);
    await expect(Promise.all([batch.submit(1), batch.submit(2)])).rejects.toThrow('1 results for 2 inputs');
  });
});

describe('sharedRead', () => {
  it('reads once for the callers of one turn, and only after each of them asked (never an older read)', async () => {
    let value = 0;
    let reads = 0;
    const read = sharedRead(async () => {
      reads++;
      return value;
    });
    const first = read();
    // A write after the first caller asked but in the same turn is seen by both: the read starts after the turn.
    value = 1;
    const second = read();
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    expect(reads).toBe(1);
    value = 2;
    expect(await read()).toBe(2);
    expect(reads).toBe(2);
  });
});
