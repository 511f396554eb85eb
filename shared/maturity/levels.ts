/**
 * Reading an area's maturity level off the evidence the exchange log holds.
 * Pure: the caller gathers the criterion codes that successful exchanges evidenced.
 */
import {
  DOCUMENTARY_EVIDENCE_NEEDED,
  MATURITY_LEVELS,
  criteriaOfArea,
  type AreaCode,
  type CriterionCode,
  type MaturityLevel,
} from './catalogue.js';

/**
 * The highest level of `area` that exchanges demonstrate; null when none is;
 * `DOCUMENTARY_EVIDENCE_NEEDED` for an area no exchange can show (GV, TR).
 *
 * DESIGN.md §2: "A level counts as demonstrated when every criterion of that level
 * and of the levels below it (that exchanges can show) has evidence." Read here as:
 * - Documentary criteria neither count nor block: the log cannot show them either
 *   way, so an auditor judges them from attached documents (so MI at level 2 means
 *   MI-L2 is shown and MI-L1 still needs its document).
 * - A level counts only if it has at least one exchange criterion of its own. A
 *   level made only of documentary criteria would otherwise be "demonstrated" with
 *   no evidence at all (MI-L1 on an empty log), or ride on the level below it.
 * - The first level whose exchange criteria are not all evidenced stops the climb:
 *   evidence for a higher level does not make up for a gap underneath it.
 * - Codes of other areas in `evidenced` are ignored.
 */
export function levelDemonstrated(
  area: AreaCode,
  evidenced: ReadonlySet<CriterionCode>,
): MaturityLevel | null | typeof DOCUMENTARY_EVIDENCE_NEEDED {
  const shown = criteriaOfArea(area).filter((c) => c.evidence === 'exchange');
  if (shown.length === 0) return DOCUMENTARY_EVIDENCE_NEEDED;
  let demonstrated: MaturityLevel | null = null;
  for (const level of MATURITY_LEVELS) {
    const atLevel = shown.filter((c) => c.level === level);
    if (atLevel.length === 0) continue;
    if (!atLevel.every((c) => evidenced.has(c.code))) break;
    demonstrated = level;
  }
  return demonstrated;
}
