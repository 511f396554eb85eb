import { readFileSync } from 'node:fs';
import {
  AREA_CODES,
  CATALOGUE,
  DOCUMENTARY_EVIDENCE_NEEDED,
  MATURITY_LEVELS,
  criteriaOfArea,
  criterion,
  exchangeCriteria,
  isCriterionCode,
  type CriterionCode,
} from './catalogue.js';

const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim();
const seed = readFileSync(new URL(CATALOGUE.seedFile, import.meta.url), 'utf8');
const seedLines = seed.split('\n').map(normalise);
const normalisedSeed = normalise(seed);

/** The criteria DESIGN.md §2's table says the hub's exchanges show. */
const DESIGN_EXCHANGE_CODES: readonly CriterionCode[] = [
  'IM-L3', 'IM-L4', 'IM-L5',
  'PD-L2', 'PD-L3', 'PD-L4', 'PD-L5',
  'MA-L3', 'MA-L4', 'MA-L5',
  'MI-L2', 'MI-L3', 'MI-L4', 'MI-L5',
  'AP-L2', 'AP-L3', 'AP-L4', 'AP-L5',
  'PC-L4', 'PC-L5',
  'SI-L3', 'SI-L4', 'SI-L5',
];

describe('maturity catalogue', () => {
  it('holds 45 criteria, one for every area and level', () => {
    expect(CATALOGUE.criteria).toHaveLength(45);
    const codes = CATALOGUE.criteria.map((c) => c.code);
    expect(new Set(codes).size).toBe(45);
    for (const area of AREA_CODES) {
      expect(criteriaOfArea(area).map((c) => c.code)).toEqual(MATURITY_LEVELS.map((l) => `${area}-L${l}`));
    }
  });

  it('gives every criterion a valid code that matches its area and level', () => {
    for (const c of CATALOGUE.criteria) {
      expect(isCriterionCode(c.code)).toBe(true);
      expect(c.code).toBe(`${c.area}-L${c.level}`);
      expect(criterion(c.code)).toBe(c);
    }
  });

  it('rejects strings that are not criterion codes', () => {
    for (const s of ['MI-L0', 'MI-L6', 'XX-L1', 'mi-l3', 'MI-L3 ', 'MIL3', '']) expect(isCriterionCode(s)).toBe(false);
  });

  it('names the source publication', () => {
    expect(CATALOGUE.source).toBe('Annex B, Health & Social Care Information Sharing – A Strategic Framework 2014-2020');
  });

  it('keeps a verbatim copy of the seed beside the catalogue', () => {
    expect(seed).toContain('ANNEX B - Information Sharing Board Maturity Model');
    expect(seed).toContain('Health & Social Care Information Sharing - A Strategic Framework 2014-2020');
  });

  it('quotes every criterion and level description from the seed', () => {
    for (const c of CATALOGUE.criteria) expect(normalisedSeed).toContain(c.text);
    for (const l of CATALOGUE.levels) expect(normalisedSeed).toContain(l.description);
    for (const c of CATALOGUE.criteria) expect(c.text).toBe(normalise(c.text));
  });

  it("splits each area's row of the seed into its five cells with nothing dropped or repeated", () => {
    for (const area of CATALOGUE.areas) {
      const row = [area.title, ...criteriaOfArea(area.code).map((c) => c.text)].join(' ');
      expect(seedLines).toContain(row);
    }
  });

  it('names the five levels and splits their descriptions the same way', () => {
    expect(CATALOGUE.levels.map((l) => [l.level, l.name])).toEqual([
      [1, 'Initial'],
      [2, 'Established'],
      [3, 'Business Enabling'],
      [4, 'Managed'],
      [5, 'Optimised'],
    ]);
    expect(seedLines).toContain(`Description ${CATALOGUE.levels.map((l) => l.name).join(' ')}`);
    expect(seedLines).toContain(CATALOGUE.levels.map((l) => l.description).join(' '));
  });

  it('titles the nine areas as the seed does', () => {
    expect(CATALOGUE.areas.map((a) => a.code)).toEqual([...AREA_CODES]);
    expect(CATALOGUE.areas.find((a) => a.code === 'IM')?.title).toBe(
      'Information management, including, Information Sharing Protocols and Guidance',
    );
    expect(CATALOGUE.areas.find((a) => a.code === 'MI')?.title).toBe('Matching and Indexing');
  });

  it('reads the Messages & Alerts cells as DESIGN.md does', () => {
    const ma = (l: 2 | 3 | 4 | 5): string => criterion(`MA-L${l}`).text;
    expect(ma(2)).toMatch(/^The partnership have mapped the paper based system \(AS-IS\)/);
    expect(ma(2)).toMatch(/The partnership are developing the capability to share notifications or alerts$/);
    expect(ma(3)).toBe('The partnership are capable of sharing notifications or alerts');
    expect(ma(4)).toMatch(/^Systems within the Partnership are capable of sending structured alerts/);
    expect(ma(4)).toMatch(/staff will be trained$/);
    expect(ma(5)).toMatch(/^The partnership can share alerts across partnership boundaries\./);
    expect(ma(5)).toContain('A&E, OOH, nurses, education, police, fire service');
  });

  it('reads the Matching & Indexing cells as DESIGN.md does', () => {
    expect(criterion('MI-L2').text).toContain('either CHI seeding or matching and indexing');
    expect(criterion('MI-L3').text).toContain('automatic and manual matching');
    expect(criterion('MI-L4').text).toBe(
      'The service user demographic process will be implemented within business systems and staff will be trained to use the systems.',
    );
    const mi5 = criterion('MI-L5').text;
    expect(mi5).toMatch(/^The Partnership will seek ways to improve the process by reviewing matching methodologies/);
    expect(mi5).toContain('streamline manual matching');
    expect(mi5).toMatch(/information requirements of new agencies to the partnership$/);
  });

  it('reads the other ambiguous boundaries to agree with what DESIGN.md says the hub shows for them', () => {
    expect(criterion('IM-L4').text).toContain('signed off by all partners');
    expect(criterion('IM-L5').text).toContain('Police, Fire and Rescue, Housing independent and third sectors');
    expect(criterion('IM-L5').text).toContain('other partnership areas');
    expect(criterion('SI-L3').text).toContain('IT security standards are fully integrated');
    expect(criterion('SI-L3').text).toMatch(/staff are trained\.$/);
    expect(criterion('SI-L4').text).toMatch(/^Performance metrics/);
  });

  it('closes a level at every "staff will be trained"', () => {
    for (const c of CATALOGUE.criteria) {
      const at = c.text.indexOf('staff will be trained');
      if (at >= 0) expect(c.text.slice(at)).toMatch(/^staff will be trained( to use the systems\.| on these procedures)?$/);
    }
  });

  it('marks exactly the criteria of the DESIGN.md table as shown by exchanges', () => {
    expect(exchangeCriteria().map((c) => c.code).sort()).toEqual([...DESIGN_EXCHANGE_CODES].sort());
    for (const c of CATALOGUE.criteria) {
      const shown = DESIGN_EXCHANGE_CODES.includes(c.code);
      expect(c.evidence).toBe(shown ? 'exchange' : 'documentary');
      expect(c.hubEvidence === null).toBe(!shown);
    }
  });

  it('leaves governance and training to documentary evidence', () => {
    for (const c of [...criteriaOfArea('GV'), ...criteriaOfArea('TR')]) expect(c.evidence).toBe('documentary');
    expect(CATALOGUE.documentaryLabel).toBe(DOCUMENTARY_EVIDENCE_NEEDED);
  });

  it("carries DESIGN.md's hub evidence for the criteria exchanges show", () => {
    expect(criterion('PD-L4').hubEvidence).toBe(
      'every alert, message or form about a person carries the NP/LP contact details (rejected otherwise)',
    );
    expect(criterion('PD-L2').hubEvidence).toBe(criterion('PD-L3').hubEvidence);
    expect(criterion('MA-L3').hubEvidence).toBe('an alert is shared electronically and acknowledged');
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(CATALOGUE.criteria)).toBe(true);
    expect(Object.isFrozen(criterion('MI-L3'))).toBe(true);
  });
});
