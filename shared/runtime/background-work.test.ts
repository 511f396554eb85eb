import { BackgroundWork } from './background-work.js';

/** A promise and the functions that settle it. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BackgroundWork', () => {
  it('settles only once every piece of work started has settled, failed ones included', async () => {
    const work = new BackgroundWork();
    const first = deferred();
    const second = deferred();
    work.add(first.promise);
    work.add(second.promise);
    let settled = false;
    const waiting = work.settled().then(() => (settled = true));
    first.resolve();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    second.reject(new Error('a failed pass'));
    await waiting;
    expect(settled).toBe(true);
    expect(work.size).toBe(0);
  });

  it('waits for work added while it waits (a pass started by work that was still running)', async () => {
    const work = new BackgroundWork();
    const first = deferred();
    const later = deferred();
    work.add(first.promise.then(() => work.add(later.promise)));
    let settled = false;
    const waiting = work.settled().then(() => (settled = true));
    first.resolve();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    later.resolve();
    await waiting;
    expect(settled).toBe(true);
  });

  it('settles at once when nothing was started', async () => {
    await expect(new BackgroundWork().settled()).resolves.toBeUndefined();
  });
});
