import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedRun } from './delayed-run.js';

describe('DelayedRun', () => {
  it('runs once for every request made before it starts', async () => {
    let runs = 0;
    const delayed = new DelayedRun(() => Promise.resolve(runs++), 60_000);
    delayed.request();
    delayed.request();
    await sleep(5);
    delayed.request();
    expect(runs).toBe(0);
    await delayed.settled();
    expect(runs).toBe(1);
  });

  it('starts by itself once the delay is over', async () => {
    let runs = 0;
    const delayed = new DelayedRun(() => Promise.resolve(runs++), 5);
    delayed.request();
    // A timer due later than the run's: it fires after the run's, however late both are.
    await sleep(30);
    expect(runs).toBe(1);
  });

  it('runs again for a request made after a run started, even one made while that run is going', async () => {
    let runs = 0;
    let finish!: () => void;
    const delayed = new DelayedRun(() => {
      runs++;
      return runs === 1 ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve();
    }, 5);
    delayed.request();
    await sleep(20);
    expect(runs).toBe(1);
    delayed.request();
    await sleep(20);
    expect(runs).toBe(2);
    finish();
    await delayed.settled();
  });

  it('settled starts a waiting run at once and waits for every run, failed ones included', async () => {
    const done: string[] = [];
    let calls = 0;
    const delayed = new DelayedRun(async () => {
      calls++;
      await sleep(10);
      done.push(`run ${calls}`);
      if (calls === 1) throw new Error('a failed pass');
    }, 60_000);
    delayed.request();
    await delayed.settled();
    expect(done).toEqual(['run 1']);
    delayed.request();
    await delayed.settled();
    expect(done).toEqual(['run 1', 'run 2']);
  });

  it('settled with nothing requested resolves at once, running nothing', async () => {
    let runs = 0;
    const delayed = new DelayedRun(() => Promise.resolve(runs++), 10);
    await delayed.settled();
    expect(runs).toBe(0);
  });
});
