import { summariseProfile, type SavedProfile } from './profile.js';

const frame = (functionName: string, file: string, line = 0) => ({ functionName, url: `file:///work/x/dist/${file}`, lineNumber: line });

describe('summariseProfile', () => {
  it('sums a heap profile by function: bytes at each frame (self) and under it (total), a recursion counted once', () => {
    const profile: SavedProfile = {
      head: {
        callFrame: frame('(root)', ''),
        selfSize: 0,
        children: [
          {
            callFrame: frame('read', 'store.js', 9),
            selfSize: 1000,
            children: [
              { callFrame: frame('parse', 'json.js'), selfSize: 3000 },
              { callFrame: frame('read', 'store.js', 9), selfSize: 2000, children: [{ callFrame: frame('parse', 'json.js'), selfSize: 4000 }] },
            ],
          },
        ],
      },
    };
    const { unit, grand, rows } = summariseProfile(profile, 'function');
    expect(unit).toBe('kB');
    expect(grand).toBe(10);
    expect(rows.get('read dist/store.js:10')).toEqual({ self: 3, total: 10 });
    expect(rows.get('parse dist/json.js:1')).toEqual({ self: 7, total: 7 });
  });

  it('sums a CPU profile by file: the time of each sample to the frame it hit (self) and to every caller (total)', () => {
    const profile: SavedProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2] },
        { id: 2, callFrame: frame('handle', 'app.js'), children: [3] },
        { id: 3, callFrame: frame('decide', 'consent.js') },
      ],
      samples: [3, 3, 2],
      timeDeltas: [500, 1500, 1000],
    };
    const { unit, grand, rows } = summariseProfile(profile, 'file');
    expect(unit).toBe('ms');
    expect(grand).toBe(3);
    expect(rows.get('dist/consent.js')).toEqual({ self: 2, total: 2 });
    expect(rows.get('dist/app.js')).toEqual({ self: 1, total: 3 });
  });
});
