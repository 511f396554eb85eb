import { AREA_CODES, DOCUMENTARY_EVIDENCE_NEEDED, CATALOGUE, exchangeCriteria, type CriterionCode } from './catalogue.js';
import { levelDemonstrated } from './levels.js';

const evidence = (...codes: CriterionCode[]): ReadonlySet<CriterionCode> => new Set(codes);

describe('levelDemonstrated', () => {
  it('reports governance and training as needing documentary evidence, whatever the log holds', () => {
    const everything = evidence(...CATALOGUE.criteria.map((c) => c.code));
    expect(levelDemonstrated('GV', everything)).toBe(DOCUMENTARY_EVIDENCE_NEEDED);
    expect(levelDemonstrated('TR', evidence())).toBe(DOCUMENTARY_EVIDENCE_NEEDED);
  });

  it('demonstrates no level on an empty log', () => {
    for (const area of AREA_CODES.filter((a) => a !== 'GV' && a !== 'TR')) expect(levelDemonstrated(area, evidence())).toBeNull();
  });

  it('does not count a level with only documentary criteria as demonstrated on its own', () => {
    expect(levelDemonstrated('MI', evidence('MI-L1'))).toBeNull();
    expect(levelDemonstrated('PC', evidence('PC-L1', 'PC-L2', 'PC-L3'))).toBeNull();
  });

  it('counts the first exchange level once it is evidenced, the documentary levels under it not blocking', () => {
    expect(levelDemonstrated('MI', evidence('MI-L2'))).toBe(2);
    expect(levelDemonstrated('PC', evidence('PC-L4'))).toBe(4);
    expect(levelDemonstrated('MA', evidence('MA-L3'))).toBe(3);
  });

  it('climbs while every level up to it is evidenced', () => {
    expect(levelDemonstrated('MI', evidence('MI-L2', 'MI-L3'))).toBe(3);
    expect(levelDemonstrated('MI', evidence('MI-L2', 'MI-L3', 'MI-L4'))).toBe(4);
    expect(levelDemonstrated('SI', evidence('SI-L3', 'SI-L4', 'SI-L5'))).toBe(5);
  });

  it('stops at a gap: higher evidence does not make up for a missing lower level', () => {
    expect(levelDemonstrated('MI', evidence('MI-L3', 'MI-L4', 'MI-L5'))).toBeNull();
    expect(levelDemonstrated('MI', evidence('MI-L2', 'MI-L4', 'MI-L5'))).toBe(2);
    expect(levelDemonstrated('PC', evidence('PC-L5'))).toBeNull();
  });

  it("ignores other areas' evidence", () => {
    expect(levelDemonstrated('MI', evidence('MA-L3', 'PD-L2', 'AP-L2'))).toBeNull();
  });

  it('reaches level 5 in every exchange area when every exchange criterion is evidenced', () => {
    const all = evidence(...exchangeCriteria().map((c) => c.code));
    for (const area of ['IM', 'PC', 'AP', 'PD', 'MA', 'MI', 'SI'] as const) expect(levelDemonstrated(area, all)).toBe(5);
  });
});
