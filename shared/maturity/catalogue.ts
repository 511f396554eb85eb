/**
 * The Information Sharing Board maturity model (Annex B of *Health & Social Care
 * Information Sharing – A Strategic Framework 2014-2020*) as data: 5 levels, 9 areas,
 * 45 criteria. The wording lives in `catalogue.json`, quoted from `annex-b.txt` (a
 * verbatim copy of the seed); this module types it, checks it once at load, and
 * answers look-ups. A criterion is `exchange` when the hub's own exchanges can show
 * it, `documentary` when an auditor must attach a document (DESIGN.md §2).
 */
import { z } from 'zod';
import data from './catalogue.json' with { type: 'json' };

export const AREA_CODES = ['IM', 'GV', 'TR', 'PC', 'AP', 'PD', 'MA', 'MI', 'SI'] as const;
export type AreaCode = (typeof AREA_CODES)[number];

export const MATURITY_LEVELS = [1, 2, 3, 4, 5] as const;
export type MaturityLevel = (typeof MATURITY_LEVELS)[number];

/** `<AREA>-L<level>`, e.g. `MI-L3`. */
export type CriterionCode = `${AreaCode}-L${MaturityLevel}`;

export type EvidenceKind = 'exchange' | 'documentary';

/** What the report shows for a criterion (or area) that no exchange can show. */
export const DOCUMENTARY_EVIDENCE_NEEDED = 'documentary evidence needed';

export interface Level {
  readonly level: MaturityLevel;
  /** Initial, Established, Business Enabling, Managed, Optimised. */
  readonly name: string;
  readonly description: string;
}

export interface Area {
  readonly code: AreaCode;
  /** The row heading as the seed spells it. */
  readonly title: string;
}

export interface Criterion {
  readonly code: CriterionCode;
  readonly area: AreaCode;
  readonly level: MaturityLevel;
  /** The cell of the seed's table, whitespace normalised only. */
  readonly text: string;
  /** What shows it in the hub (DESIGN.md §2); null for documentary criteria. */
  readonly hubEvidence: string | null;
  readonly evidence: EvidenceKind;
}

export interface Catalogue {
  /** The publication the text is quoted from. */
  readonly source: string;
  readonly publisher: string;
  readonly url: string;
  /** File beside this module holding the seed text verbatim. */
  readonly seedFile: string;
  /** How the ambiguous cell boundaries of the flattened table were read. */
  readonly readings: readonly string[];
  readonly documentaryLabel: typeof DOCUMENTARY_EVIDENCE_NEEDED;
  readonly levels: readonly Level[];
  readonly areas: readonly Area[];
  readonly criteria: readonly Criterion[];
}

const areaCode = z.enum(AREA_CODES);
const maturityLevel = z.literal(MATURITY_LEVELS);
const criterionCode = z.templateLiteral([areaCode, '-L', maturityLevel]);

const schema = z.object({
  source: z.string().min(1),
  publisher: z.string().min(1),
  url: z.url(),
  seedFile: z.string().min(1),
  readings: z.array(z.string().min(1)),
  documentaryLabel: z.literal(DOCUMENTARY_EVIDENCE_NEEDED),
  levels: z.array(z.object({ level: maturityLevel, name: z.string().min(1), description: z.string().min(1) })),
  areas: z.array(z.object({ code: areaCode, title: z.string().min(1) })),
  criteria: z.array(
    z.object({
      code: criterionCode,
      area: areaCode,
      level: maturityLevel,
      text: z.string().min(1),
      hubEvidence: z.string().min(1).nullable(),
      evidence: z.enum(['exchange', 'documentary']),
    }),
  ),
});

/** Parses and cross-checks the data; a broken catalogue stops the process at import, never mid-report. */
function load(raw: unknown): Catalogue {
  const parsed = schema.parse(raw);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const c of parsed.criteria) {
    if (c.code !== `${c.area}-L${c.level}`) problems.push(`${c.code}: code disagrees with area ${c.area} / level ${c.level}`);
    if (seen.has(c.code)) problems.push(`${c.code}: listed twice`);
    seen.add(c.code);
    // Only a criterion with something in the hub to show for it can be evidenced by exchanges.
    if ((c.evidence === 'exchange') !== (c.hubEvidence !== null)) problems.push(`${c.code}: evidence kind disagrees with hubEvidence`);
  }
  for (const area of AREA_CODES) {
    for (const level of MATURITY_LEVELS) if (!seen.has(`${area}-L${level}`)) problems.push(`${area}-L${level}: missing`);
  }
  if (parsed.areas.map((a) => a.code).join() !== AREA_CODES.join()) problems.push('areas are not IM GV TR PC AP PD MA MI SI in order');
  if (parsed.levels.map((l) => l.level).join() !== MATURITY_LEVELS.join()) problems.push('levels are not 1-5 in order');
  if (problems.length > 0) throw new Error(`maturity catalogue is inconsistent: ${problems.join('; ')}`);
  return deepFreeze(parsed);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export const CATALOGUE: Catalogue = load(data);

const byCode: ReadonlyMap<string, Criterion> = new Map(CATALOGUE.criteria.map((c) => [c.code, c]));

export function isCriterionCode(s: string): s is CriterionCode {
  return byCode.has(s);
}

/** Throws only for a string cast to CriterionCode without `isCriterionCode` (load() checks all 45 exist). */
export function criterion(code: CriterionCode): Criterion {
  const found = byCode.get(code);
  if (!found) throw new Error(`unknown maturity criterion ${String(code)}`);
  return found;
}

/** The area's five criteria, level 1 first. */
export function criteriaOfArea(area: AreaCode): readonly Criterion[] {
  return MATURITY_LEVELS.map((level) => criterion(`${area}-L${level}`));
}

const exchangeDemonstrable: readonly Criterion[] = Object.freeze(CATALOGUE.criteria.filter((c) => c.evidence === 'exchange'));

/** The criteria the hub's exchanges can show, in catalogue order. */
export function exchangeCriteria(): readonly Criterion[] {
  return exchangeDemonstrable;
}
