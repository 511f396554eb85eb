/**
 * Which layout a leaf covers: the entry's own from the position the log's
 * appender knew layout 2, layout 1 before (the README's worked example is
 * checked in ../leaf-example.test.ts).
 */
import { leafLayoutAt } from './leaf.js';

describe('the layout of a leaf', () => {
  const v1 = { v: '1' };
  const v2 = { v: '2' };

  it('is the entry\'s own from the position the log\'s appender knew layout 2', () => {
    expect([leafLayoutAt(5, v1, 5), leafLayoutAt(5, v2, 5), leafLayoutAt(9, v2, 0)]).toEqual([1, 2, 2]);
  });

  it('is layout 1 before that position, and everywhere in a log no such appender appended to, whatever the entry says', () => {
    expect([leafLayoutAt(4, v2, 5), leafLayoutAt(0, v2, undefined), leafLayoutAt(10 ** 9, v2, Infinity)]).toEqual([1, 1, 1]);
  });
});
