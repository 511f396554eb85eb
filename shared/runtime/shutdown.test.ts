import { settlesWithin } from './shutdown.js';

describe('settlesWithin (a stop that cannot hang forever)', () => {
  it('says a stop that finished in time did', async () => {
    expect(await settlesWithin(new Promise((resolve) => setTimeout(resolve, 5)), 1000)).toBe(true);
  });

  it('gives up on a stop that never finishes once the limit has passed', async () => {
    expect(await settlesWithin(new Promise(() => {}), 20)).toBe(false);
  });

  it('passes on a stop that failed, so the caller sees why', async () => {
    await expect(settlesWithin(Promise.reject(new Error('redis went away')), 1000)).rejects.toThrow('redis went away');
  });
});
