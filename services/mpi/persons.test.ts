import { newPersonId } from './persons.js';

describe('newPersonId', () => {
  it('gives ids of the form per-<16 hex digits>, none repeated across many batches of random bytes', () => {
    const ids = Array.from({ length: 5000 }, () => newPersonId());
    for (const id of ids) expect(id).toMatch(/^per-[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
