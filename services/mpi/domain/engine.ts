/**
 * The matching decision: compare two records field by field, score the pair with the
 * Fellegi–Sunter model, apply the rules the weights alone cannot express (same CHI,
 * possible twins), and decide link / review / new for a record against its candidates.
 * Every decision carries its explanation: each field's agreement level and weight.
 */
import { blockingKeys } from './blocking.js';
import { chiBirthDateParts } from './chi.js';
import { birthDatesApart, compareAll, compareChi, FIELD_COUNT, FIELD_LEVELS, FIELD_NAMES, fieldIndex, MISSING, type FieldName } from './comparators.js';
import type { MatchFeatures } from './features.js';
import { compileModel, type CompiledModel, type CompiledSharedHome, type MatchModel } from './model.js';

export type Outcome = 'link' | 'review' | 'new';
/** FHIR match-grade codes (http://terminology.hl7.org/CodeSystem/match-grade). */
export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export interface FieldExplanation {
  readonly field: FieldName;
  /** Agreement level name, or 'missing' when either record lacks the value. */
  readonly level: string;
  /** log2(m/u) of that level (0 when missing), term-frequency adjustment included. */
  readonly weight: number;
  /**
   * Bits the term-frequency adjustment added to an exact agreement (negative for a
   * common value such as "smith", positive for a rare one); absent when none applied.
   */
  readonly termFrequency?: number;
  /**
   * Bits the family name's weight changed because the records share a home (its u among
   * different people at that residence level, not among all: a household shares its family
   * name); absent when none applied. See `SharedHomeNames` in model.ts.
   */
  readonly sharedHome?: number;
}

/** A rule that set the outcome regardless of (or below) what the score alone says. */
export interface RuleApplied {
  readonly rule: 'same-chi' | 'same-chi-contradicted' | 'possible-twin' | 'different-chi';
  readonly outcome: Outcome;
  readonly detail: string;
}

export interface Comparison {
  /** Sum of the field weights (log2 likelihood ratio). */
  readonly score: number;
  /** The outcome for this pair, after rules. */
  readonly outcome: Outcome;
  readonly grade: MatchGrade;
  readonly fields: readonly FieldExplanation[];
  /** Forename and family name were compared crosswise. */
  readonly namesSwapped?: true;
  readonly rule?: RuleApplied;
}

const CHI = fieldIndex('chi');
const GIVEN = fieldIndex('given');
const FAMILY = fieldIndex('family');
const BIRTH_DATE = fieldIndex('birthDate');
const SEX = fieldIndex('sex');
const RESIDENCE = fieldIndex('residence');
const GIVEN_DIFFERENT = FIELD_LEVELS.given.indexOf('different');
const FAMILY_SIMILAR = FIELD_LEVELS.family.indexOf('similar');
/** Birth dates disagree outright at this level and the ones after it (`apart`). */
const BIRTH_DATE_DIFFERENT = FIELD_LEVELS.birthDate.indexOf('different');
const SEX_DIFFERENT = FIELD_LEVELS.sex.indexOf('different');
const CHI_DIFFERENT = FIELD_LEVELS.chi.indexOf('different');

const RANK: Readonly<Record<Outcome, number>> = { new: 0, review: 1, link: 2 };

/** Score and rule of one pair, without building the explanation (the hot path). */
interface Scored {
  score: number;
  outcome: Outcome;
  rule: RuleApplied | undefined;
  swapped: boolean;
}

const levels = new Int8Array(FIELD_COUNT);

function scorePair(a: MatchFeatures, b: MatchFeatures, model: CompiledModel, out: Int8Array): Scored {
  return scoreInto({ score: 0, outcome: 'new', rule: undefined, swapped: false }, a, b, model, out);
}

/** Scores a pair into `target` (so the caller's object is the only allocation). */
function scoreInto<T extends Scored>(target: T, a: MatchFeatures, b: MatchFeatures, model: CompiledModel, out: Int8Array): T {
  const swapped = compareAll(a, b, out);
  let score = 0;
  for (let f = 0; f < FIELD_COUNT; f++) {
    const w = model.weights[f];
    const level = out[f]!;
    if (w !== undefined && level !== MISSING) score += w[level]!;
  }
  const home = sharedHomeOf(out, model);
  if (home !== undefined) score += sharedHomeBits(home, out);
  if (!swapped) score += termFrequencyBits(a, out, model, home !== undefined);
  const byScore = classifyCompiled(score, model);
  const rule = applyRules(out, model, chiConflict(a, b, out, model), a, b);
  let outcome = byScore;
  if (rule) outcome = CAPPING_RULES.has(rule.rule) ? (RANK[rule.outcome] < RANK[byScore] ? rule.outcome : byScore) : rule.outcome;
  target.score = score;
  target.outcome = outcome;
  // A rule that only caps the outcome is reported when it lowered it.
  target.rule = rule && (!CAPPING_RULES.has(rule.rule) || outcome !== byScore) ? rule : undefined;
  target.swapped = swapped;
  return target;
}

/** Feature holding each term-frequency field's value (by field index). */
const TERM_VALUE: readonly ((f: MatchFeatures) => string | undefined)[] = FIELD_NAMES.map((field) =>
  field === 'given' ? (f: MatchFeatures) => f.g : field === 'family' ? (f: MatchFeatures) => f.f : field === 'postcode' ? (f: MatchFeatures) => f.pc : () => undefined,
);

/** Term-frequency adjustment of one field's exact agreement (0 when the model has none or the level is not exact). */
function termFrequencyOf(a: MatchFeatures, out: Int8Array, model: CompiledModel, f: number): number {
  const tf = model.tf[f];
  if (tf === undefined || out[f] !== 0) return 0;
  const value = TERM_VALUE[f]!(a);
  if (value === undefined) return 0;
  return tf.adjustments.get(value) ?? tf.rare;
}

/**
 * The sum of the term-frequency adjustments of a pair's exact agreements (a Map lookup per
 * agreeing field); the family name's left out when the records share a home (`sharedHomeOf`).
 */
function termFrequencyBits(a: MatchFeatures, out: Int8Array, model: CompiledModel, atHome: boolean): number {
  let bits = 0;
  for (const f of atHome ? TF_FIELDS_AT_HOME : TF_FIELDS) bits += termFrequencyOf(a, out, model, f);
  return bits;
}

const TF_FIELDS = [GIVEN, FAMILY, fieldIndex('postcode')];
const TF_FIELDS_AT_HOME = TF_FIELDS.filter((f) => f !== FAMILY);

/** The family name's shared-home adjustments for this pair's residence level, or undefined when the model has none there. */
function sharedHomeOf(out: Int8Array, model: CompiledModel): CompiledSharedHome | undefined {
  const table = model.sharedHome;
  if (table === undefined) return undefined;
  const residence = out[RESIDENCE]!;
  return residence === MISSING ? undefined : table[residence];
}

/** Bits the family name's weight changes by at home (0 when it is missing). */
function sharedHomeBits(home: CompiledSharedHome, out: Int8Array): number {
  const level = out[FAMILY]!;
  return level === MISSING ? 0 : home[level]!;
}

/** Rules that set an upper bound on the outcome (the score may put the pair lower); the others set it. */
const CAPPING_RULES: ReadonlySet<RuleApplied['rule']> = new Set(['possible-twin', 'different-chi']);

/** Do the birth dates disagree outright (`different` or `apart`: not a slip the comparator recognises)? */
function birthDatesDisagree(out: Int8Array): boolean {
  return out[BIRTH_DATE]! >= BIRTH_DATE_DIFFERENT;
}

/** How many identifying fields other than the CHI (forename, sex, birth date) two records disagree on outright. */
function identityDisagreements(out: Int8Array): number {
  return (out[GIVEN] === GIVEN_DIFFERENT ? 1 : 0) + (out[SEX] === SEX_DIFFERENT ? 1 : 0) + (birthDatesDisagree(out) ? 1 : 0);
}

function disagreementNames(out: Int8Array): string {
  const fields = [out[GIVEN] === GIVEN_DIFFERENT && 'forename', out[SEX] === SEX_DIFFERENT && 'sex', birthDatesDisagree(out) && 'birth date'];
  return fields.filter((f) => f !== false).join(' and ');
}

const DIFFERENT_CHI: RuleApplied = {
  rule: 'different-chi',
  outcome: 'review',
  detail: 'different CHI numbers: two people unless one of the CHIs was keyed on the wrong record, never linked automatically',
};

/**
 * Two different valid CHIs (levels already in `out`): two people, or one person with a CHI keyed on
 * the wrong record. A check digit catches nearly every keying slip, so two valid CHIs that differ are
 * never one number mistyped — unlike an identifier without one (`MatchFeatures.cn`: the benchmarks'
 * national ids), whose difference is left to its weight. So is `near` (one edit apart).
 */
function chiConflict(a: MatchFeatures, b: MatchFeatures, out: Int8Array, model: CompiledModel): boolean {
  return out[CHI] === CHI_DIFFERENT && model.weights[CHI] !== undefined && a.cn === undefined && b.cn === undefined;
}

function applyRules(out: Int8Array, model: CompiledModel, differentChis: boolean, a: MatchFeatures, b: MatchFeatures): RuleApplied | undefined {
  if (model.weights[CHI] !== undefined && out[CHI] === 0) {
    // The same CHI is the same person, unless the records disagree outright on two of forename,
    // sex and birth date — what tells people apart without a CHI: one is a slip (a middle name
    // used, an estimated birth date, a wrong sex code); two describe another person, whose record
    // carries this CHI by mistake (a parent's on a child's record): a reviewer decides.
    if (identityDisagreements(out) >= 2) {
      return { rule: 'same-chi-contradicted', outcome: 'review', detail: `same CHI number, but ${disagreementNames(out)} disagree` };
    }
    // The CHI carries its holder's birth date. Where the two records' dates disagree outright and one
    // of them is not the CHI's own even allowing for a slip or an estimate, that record describes
    // someone born another year — a son named after his father, carrying the father's CHI.
    if (birthDatesDisagree(out) && a.cn === undefined && (birthDateNotTheChis(a) || birthDateNotTheChis(b))) {
      return { rule: 'same-chi-contradicted', outcome: 'review', detail: `same CHI number, but a record's birth date is not the one the CHI carries (${a.chi!.slice(0, 6)}, DDMMYY) and the two birth dates disagree` };
    }
    return { rule: 'same-chi', outcome: 'link', detail: 'same CHI number' };
  }
  const twinRule = possibleTwin(out, model);
  // Two different valid CHIs: whichever it is, one Person holding both is wrong until a reviewer says
  // which CHI is wrong, so the index never makes one of them by itself (a reviewer can).
  if (differentChis && twinRule?.outcome !== 'new') return DIFFERENT_CHI;
  return twinRule;
}

/**
 * Is a record's full birth date another person's than the one its CHI carries (DDMMYY, read in the
 * century nearest the record's year)? `birthDatesApart`: no single slip or estimate turns one into
 * the other. A wrong year alone, a wrong day or month alone, or a 1 January estimate is a slip the
 * CHI settles.
 */
function birthDateNotTheChis(f: MatchFeatures): boolean {
  if (f.y === undefined || f.m === undefined || f.d === undefined || f.chi === undefined) return false;
  const carried = chiBirthDateParts(f.chi);
  if (!carried) return false;
  const below = f.y - ((((f.y - carried.yy) % 100) + 100) % 100);
  const year = f.y - below > below + 100 - f.y ? below + 100 : below;
  return birthDatesApart(f.y, f.m, f.d, year, carried.month, carried.day);
}

function possibleTwin(out: Int8Array, model: CompiledModel): RuleApplied | undefined {
  const twin = model.twin;
  const given = out[GIVEN]!;
  if (twin && given > 0 && out[FAMILY] !== MISSING && out[FAMILY]! <= FAMILY_SIMILAR && out[BIRTH_DATE] === 0) {
    // Same family name and birth date, forenames not the same: one person, or twins?
    let same = twin.mGiven[given]!;
    let twins = twin.share * twin.tGiven[given]!;
    const sex = out[SEX]!;
    if (sex !== MISSING) {
      same *= twin.mSex[sex]!;
      twins *= twin.tSex[sex]!;
    }
    const chi = out[CHI]!;
    if (chi !== MISSING) {
      same *= twin.mChi[chi]!;
      twins *= twin.tChi[chi]!;
    }
    const probability = same / (same + twins);
    if (probability < twin.linkProbability) {
      const outcome: Outcome = probability < twin.reviewProbability ? 'new' : 'review';
      return {
        rule: 'possible-twin',
        outcome,
        detail: `forenames differ while family name and birth date agree: P(same person) ≈ ${probability.toFixed(3)} allowing for twins`,
      };
    }
  }
  return undefined;
}

function classifyCompiled(score: number, model: CompiledModel): Outcome {
  if (score >= model.upper) return 'link';
  if (score >= model.lower) return 'review';
  return 'new';
}

function explain(a: MatchFeatures, out: Int8Array, model: CompiledModel, swapped: boolean): FieldExplanation[] {
  const fields: FieldExplanation[] = [];
  const home = sharedHomeOf(out, model);
  for (let f = 0; f < FIELD_COUNT; f++) {
    const w = model.weights[f];
    if (w === undefined) continue;
    const level = out[f]!;
    const name = FIELD_NAMES[f]!;
    const atHome = home !== undefined && f === FAMILY ? sharedHomeBits(home, out) : 0;
    const tf = swapped || (home !== undefined && f === FAMILY) ? 0 : termFrequencyOf(a, out, model, f);
    fields.push({
      field: name,
      level: level === MISSING ? 'missing' : FIELD_LEVELS[name][level]!,
      weight: level === MISSING ? 0 : round2(w[level]! + tf + atHome),
      ...(tf !== 0 ? { termFrequency: round2(tf) } : {}),
      ...(atHome !== 0 ? { sharedHome: round2(atHome) } : {}),
    });
  }
  return fields;
}

function toComparison(scored: Scored, a: MatchFeatures, out: Int8Array, model: CompiledModel): Comparison {
  return {
    score: round2(scored.score),
    outcome: scored.outcome,
    grade: gradeOf(scored, model),
    fields: explain(a, out, model, scored.swapped),
    ...(scored.swapped ? { namesSwapped: true as const } : {}),
    ...(scored.rule ? { rule: scored.rule } : {}),
  };
}

function gradeOf(scored: Scored, model: CompiledModel): MatchGrade {
  if (scored.outcome === 'link') return 'certain';
  const byScore = matchGradeCompiled(scored.score, model);
  if (scored.outcome === 'review') return byScore === 'certain' || byScore === 'certainly-not' ? 'possible' : byScore;
  return 'certainly-not';
}

/**
 * What grouping records into Persons needs of a pair — its score (rounded as `compare`
 * rounds it), outcome, the rule that set it, and which fields disagree outright — without
 * the per-field explanation `compare` builds. The re-clustering pass weighs every candidate
 * pair of the index (~800,000 at 100,000 records) and keeps them all until it is done;
 * explanations are built only for the few it puts to a reviewer.
 */
export interface PairVerdict {
  readonly score: number;
  readonly outcome: Outcome;
  readonly rule?: RuleApplied['rule'];
  /** Bit `fieldIndex(f)` set when field `f` (one the model weighs) compared `different` (or, for the birth date, `apart`). */
  readonly differentFields: number;
  /** Two different valid CHIs: never one Person automatically, whatever the score (the `different-chi` rule). */
  readonly differentChis?: true;
}

/**
 * The `different` level of each field (by field index; the levels after it disagree outright too:
 * birth-date `apart`), beyond every level for a field without one.
 */
const DIFFERENT_LEVEL = FIELD_NAMES.map((name) => (FIELD_LEVELS[name] as readonly string[]).indexOf('different')).map((i) => (i < 0 ? Number.MAX_SAFE_INTEGER : i));

/** A pair's verdict: `compare`'s score, outcome and rule, and the fields its explanation would call `different`. */
export function verdict(a: MatchFeatures, b: MatchFeatures, model: MatchModel): PairVerdict {
  const compiled = compileModel(model);
  const scored = scorePair(a, b, compiled, levels);
  let differentFields = 0;
  for (let f = 0; f < FIELD_COUNT; f++) {
    if (compiled.weights[f] !== undefined && levels[f]! >= DIFFERENT_LEVEL[f]!) differentFields |= 1 << f;
  }
  return {
    score: round2(scored.score),
    outcome: scored.outcome,
    differentFields,
    ...(scored.rule ? { rule: scored.rule.rule } : {}),
    ...(chiConflict(a, b, levels, compiled) ? { differentChis: true as const } : {}),
  };
}

/**
 * `compare`'s score and grade alone, without the per-field explanation (`$match` scores every
 * candidate and answers only these).
 */
export function scoreAndGrade(a: MatchFeatures, b: MatchFeatures, model: MatchModel): { readonly score: number; readonly grade: MatchGrade } {
  const compiled = compileModel(model);
  const scored = scorePair(a, b, compiled, levels);
  return { score: round2(scored.score), grade: gradeOf(scored, compiled) };
}

/** Compares two records and explains the result. */
export function compare(a: MatchFeatures, b: MatchFeatures, model: MatchModel): Comparison {
  const compiled = compileModel(model);
  const scored = scorePair(a, b, compiled, levels);
  return toComparison(scored, a, levels, compiled);
}

/**
 * A pair's score and outcome without the explanation (for estimation's predictions over
 * every candidate pair: the fast path `decide` uses).
 */
export function scoreOnly(a: MatchFeatures, b: MatchFeatures, model: MatchModel): { readonly score: number; readonly outcome: Outcome } {
  const scored = scorePair(a, b, compileModel(model), levels);
  return { score: scored.score, outcome: scored.outcome };
}

/** Outcome of a score alone (rules such as same-CHI are applied by `compare` and `decide`). */
export function classify(score: number, model: MatchModel): Outcome {
  return classifyCompiled(score, compileModel(model));
}

/**
 * FHIR match grade of a score: certain at or above `upper`; probable in the upper half of
 * the review band; possible in its lower half; certainly-not below `lower`.
 */
export function matchGrade(score: number, model: MatchModel): MatchGrade {
  return matchGradeCompiled(score, compileModel(model));
}

/**
 * Posterior probability that a pair with this score is one person (0..1, for $match
 * `search.score` and review Tasks): 1 / (1 + 2^−(score + log2 prior odds)), with the
 * prior the thresholds were set from (`estimation.prior`). A model without one is
 * centred on the middle of the review band.
 */
export function matchProbability(score: number, model: MatchModel): number {
  const prior = model.estimation?.prior;
  const priorLogOdds =
    prior !== undefined && prior > 0 && prior < 1 ? Math.log2(prior / (1 - prior)) : -(model.thresholds.upper + model.thresholds.lower) / 2;
  const p = 1 / (1 + 2 ** -(score + priorLogOdds));
  return Number.isFinite(p) ? p : score > 0 ? 1 : 0;
}

function matchGradeCompiled(score: number, model: CompiledModel): MatchGrade {
  if (score >= model.upper) return 'certain';
  if (score >= (model.upper + model.lower) / 2) return 'probable';
  if (score >= model.lower) return 'possible';
  return 'certainly-not';
}

export interface Candidate {
  readonly id: string;
  readonly score: number;
  /**
   * The rule that set or capped this pair's outcome (`explanation.rule.rule`; undefined when none did), known
   * without building the explanation: registration reads it for every link (a same-CHI link is assured otherwise).
   */
  readonly rule: RuleApplied['rule'] | undefined;
  readonly explanation: Comparison;
}

export interface Decision {
  readonly outcome: Outcome;
  /** The best candidate (for `new`, the closest one, if any was compared). */
  readonly best?: Candidate;
  /** Candidates a reviewer should see, best first (empty unless outcome is review). */
  readonly reviewCandidates: readonly Candidate[];
  /** Two or more persons reached the link threshold and do not match each other: a reviewer must choose. */
  readonly ambiguous?: true;
  /**
   * With a link: other persons that also reached the link threshold and certainly match
   * the linked record — the same individual indexed twice, worth a merge review.
   */
  readonly possibleDuplicates?: readonly Candidate[];
  /** Number of candidates compared. */
  readonly compared: number;
}

export interface DecideOptions {
  /**
   * The index person a candidate record belongs to. Candidates of one person count once
   * (their best record); without it every candidate is its own person.
   */
  readonly personOf?: (recordId: string) => string | undefined;
  /** Most review candidates to return (default 5). */
  readonly maxReviewCandidates?: number;
  /**
   * The CHIs a candidate Person's records hold, all of them (with `personOf`): the Person's records
   * among the candidates are a share of them — one sharing no blocking key with the record is not
   * compared, yet linking would give the Person its CHI and the record's. Undefined when the caller
   * does not know (then only the candidates' CHIs are checked).
   */
  readonly chisOf?: (personId: string) => Iterable<PersonChi> | undefined;
}

/** A CHI one of a Person's records holds (`DecideOptions.chisOf`). */
export interface PersonChi {
  /** The record holding it. */
  readonly id: string;
  readonly chi: string;
  /** Not a valid CHI (`MatchFeatures.cn`): a benchmark's national id, whose difference is left to its weight. */
  readonly cn?: true;
}

/** The CHI a record holds, as one of its Person's (`DecideOptions.chisOf`); undefined for a record without one. */
export function personChiOf(f: MatchFeatures): PersonChi | undefined {
  if (f.chi === undefined) return undefined;
  return f.cn ? { id: f.id, chi: f.chi, cn: true } : { id: f.id, chi: f.chi };
}

/** Whether deciding `record` checks the CHIs its candidate Persons hold (`DecideOptions.chisOf`): it has a valid CHI and the model weighs CHIs. */
export function checksPersonChis(record: MatchFeatures, model: MatchModel): boolean {
  return record.chi !== undefined && record.cn === undefined && model.fields.chi !== undefined;
}

/** Two different valid CHIs (as `chiConflict` says of a compared pair), for a record and a CHI it was not compared with. */
function chisConflict(record: MatchFeatures, held: PersonChi, model: CompiledModel): boolean {
  return model.weights[CHI] !== undefined && record.cn === undefined && held.cn === undefined && compareChi(record, held) === CHI_DIFFERENT;
}

/** A candidate's score, kept with the candidate (one object per candidate in the hot loop). */
interface Ranked extends Scored {
  readonly features: MatchFeatures;
  readonly person: string;
  /** Set when the outcome was lowered because another record of the candidate's Person has a different CHI. */
  conflict?: RuleApplied;
}

/**
 * Decides what to do with a record given its candidates: link to the one person that
 * reaches the link threshold (or shares the CHI), send it for review when the best is
 * in the grey zone or when two persons both qualify, otherwise a new person.
 */
export function decide(record: MatchFeatures, candidates: readonly MatchFeatures[], model: MatchModel, options: DecideOptions = {}): Decision {
  const compiled = compileModel(model);
  const personOf = options.personOf;
  // Without persons every candidate stands alone and no map is needed (the common, hot case).
  const bestByPerson = personOf ? new Map<string, Ranked>() : undefined;
  // Persons holding a record whose CHI differs from this record's (the first such record of each).
  let chiConflicts: Map<string, string> | undefined;
  const checkChi = bestByPerson !== undefined && record.chi !== undefined;
  const alone: Ranked[] = [];
  let compared = 0;
  for (const candidate of candidates) {
    if (candidate.id === record.id) continue;
    compared++;
    const person = bestByPerson ? (personOf!(candidate.id) ?? candidate.id) : candidate.id;
    const ranked: Ranked = scoreInto(
      { features: candidate, person, score: 0, outcome: 'new', rule: undefined, swapped: false },
      record,
      candidate,
      compiled,
      levels,
    );
    if (!bestByPerson) {
      alone.push(ranked);
      continue;
    }
    if (checkChi && chiConflict(record, candidate, levels, compiled) && !chiConflicts?.has(person)) (chiConflicts ??= new Map()).set(person, candidate.id);
    const previous = bestByPerson.get(person);
    if (!previous || better(ranked, previous)) bestByPerson.set(person, ranked);
  }
  const chisOf = checkChi ? options.chisOf : undefined;
  if (chisOf) {
    // A Person about to be linked may hold a CHI on a record that was not a candidate: asked only of those.
    for (const [person, best] of bestByPerson!) {
      if (best.outcome !== 'link' || chiConflicts?.has(person)) continue;
      for (const held of chisOf(person) ?? []) {
        if (held.id === record.id || !chisConflict(record, held, compiled)) continue;
        (chiConflicts ??= new Map()).set(person, held.id);
        break;
      }
    }
  }
  if (chiConflicts) {
    // Linking to such a Person through another of its records would make one Person of two CHIs:
    // at most a review, as a pair with different CHIs is (the re-clustering pass keeps them apart too).
    for (const [person, conflicting] of chiConflicts) {
      const best = bestByPerson!.get(person)!;
      if (best.outcome !== 'link') continue;
      best.outcome = 'review';
      best.conflict = {
        rule: 'different-chi',
        outcome: 'review',
        detail: `the candidate's Person holds record ${conflicting} with a different CHI number: one Person is never given two CHIs automatically`,
      };
    }
  }
  const ranked = sortShort(bestByPerson ? [...bestByPerson.values()] : alone, byBetter);
  const top = ranked[0];
  if (!top) return { outcome: 'new', reviewCandidates: [], compared };

  const asCandidate = (r: Ranked): Candidate => lazyCandidate(record, r, compiled);
  const limit = options.maxReviewCandidates ?? 5;
  // Links sort first (`better`): how many is all the common case needs to know.
  let links = 0;
  while (links < ranked.length && ranked[links]!.outcome === 'link') links++;
  if (links === 1) return { outcome: 'link', best: asCandidate(top), reviewCandidates: [], compared };
  if (links > 1) {
    const linked = ranked.slice(0, links);
    // Several persons qualify. If none contradicts the best one, they are one individual
    // indexed twice (an earlier missed link, bridged now by this record): link to the best
    // and report the others as possible duplicates to merge. If any contradicts it
    // (twins, say), a reviewer decides.
    const others = linked.slice(1);
    const duplicates = others.every((r) => sameIndividual(top.features, r.features, compiled));
    if (duplicates) {
      return { outcome: 'link', best: asCandidate(top), reviewCandidates: [], possibleDuplicates: others.map(asCandidate), compared };
    }
    const inReview = ranked.filter((r) => r.outcome !== 'new').slice(0, limit).map(asCandidate);
    return { outcome: 'review', best: inReview[0]!, reviewCandidates: inReview, ambiguous: true, compared };
  }
  // No link: the review candidates follow the links (none) at the head of `ranked`.
  if (top.outcome === 'review') {
    const inReview = ranked.filter((r) => r.outcome === 'review').slice(0, limit).map(asCandidate);
    return { outcome: 'review', best: inReview[0]!, reviewCandidates: inReview, compared };
  }
  return { outcome: 'new', best: asCandidate(top), reviewCandidates: [], compared };
}

/**
 * A returned candidate whose explanation is built when first read, then kept. Most decisions'
 * explanations are never read (a batch that links or creates, a benchmark): building each field's
 * explanation for every decision's best candidate was a fifth of the allocation per record. An own
 * enumerable getter, so JSON and spreads still carry it. The levels are recomputed when it is read
 * (the shared `levels` array holds another pair's by then); the score is the one ranked.
 */
function lazyCandidate(record: MatchFeatures, r: Ranked, compiled: CompiledModel): Candidate {
  let explanation: Comparison | undefined;
  return {
    id: r.features.id,
    score: round2(r.score),
    rule: (r.conflict ?? r.rule)?.rule,
    get explanation(): Comparison {
      if (explanation === undefined) {
        const scored = scorePair(record, r.features, compiled, levels);
        if (r.conflict) {
          scored.outcome = r.outcome;
          scored.rule = r.conflict;
        }
        explanation = toComparison(scored, record, levels, compiled);
      }
      return explanation;
    },
  };
}

/**
 * Could two index records be one individual? Yes when they link outright; otherwise when
 * nothing that identifies a person contradicts it — forename, sex, birth date and CHI
 * not different, no twin rule — whatever their addresses and family names (moves and
 * marriages) say.
 */
function sameIndividual(a: MatchFeatures, b: MatchFeatures, model: CompiledModel): boolean {
  const scored = scorePair(a, b, model, levels);
  if (scored.outcome === 'link') return true;
  if (scored.rule) return false;
  return (
    levels[GIVEN] !== GIVEN_DIFFERENT &&
    levels[SEX] !== SEX_DIFFERENT &&
    !birthDatesDisagree(levels) &&
    (levels[CHI] === MISSING || levels[CHI] === 0)
  );
}

const byBetter = (x: Scored, y: Scored): number => (better(x, y) ? -1 : 1);

/**
 * `list.sort(compare)`, in place, without the sort's allocations for the short lists a decision ranks
 * (a Person or a few per record: the sort's work arrays were 0.4 KB of the ~9 KB allocated per record).
 * Below 64 elements these are the steps V8's Array.prototype.sort (TimSort) takes — one run at the head,
 * counted ascending or strictly descending (then reversed), the rest placed by binary insertion — so
 * elements `compare` cannot tell apart (`byBetter` never says two are equal) keep the order they had:
 * the same decisions as before. From 64 on, the sort itself.
 */
export function sortShort<T>(list: T[], compare: (x: T, y: T) => number): T[] {
  const n = list.length;
  if (n < 2) return list;
  if (n >= 64) return list.sort(compare);
  const descending = compare(list[1]!, list[0]!) < 0;
  let run = 2;
  while (run < n && compare(list[run]!, list[run - 1]!) < 0 === descending) run++;
  if (descending) {
    for (let i = 0, j = run - 1; i < j; i++, j--) {
      const t = list[i]!;
      list[i] = list[j]!;
      list[j] = t;
    }
  }
  for (let next = run; next < n; next++) {
    const pivot = list[next]!;
    let left = 0;
    let right = next;
    while (left < right) {
      const mid = left + ((right - left) >> 1);
      if (compare(pivot, list[mid]!) < 0) right = mid;
      else left = mid + 1;
    }
    for (let p = next; p > left; p--) list[p] = list[p - 1]!;
    list[left] = pivot;
  }
  return list;
}

/** Orders by outcome first (a same-CHI link beats a higher-scoring review), then score. */
function better(x: Scored, y: Scored): boolean {
  if (RANK[x.outcome] !== RANK[y.outcome]) return RANK[x.outcome] > RANK[y.outcome];
  // Between two links, the one certain by the same CHI wins over a higher probabilistic score.
  const xChi = x.rule?.rule === 'same-chi';
  const yChi = y.rule?.rule === 'same-chi';
  if (xChi !== yChi) return xChi;
  return x.score > y.score;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

// ---------------------------------------------------------------------------------

export interface MatchIndexOptions {
  /**
   * Blocks (records sharing one key) larger than this are skipped when looking for
   * candidates: a key that common (one postcode with hundreds of flats, John Smith)
   * tells little and would make every query slow. Default 500.
   */
  readonly maxBlockSize?: number;
}

/**
 * An in-memory index of records by blocking key, for tests, benchmarks and tools. The
 * MPI service keeps the same keys in Redis; this class is the reference for what it does.
 */
export class MatchIndex {
  private readonly records: (MatchFeatures | undefined)[] = [];
  private readonly slots = new Map<string, number>();
  private readonly blocks = new Map<string, number[]>();
  private readonly keysBySlot: (string[] | undefined)[] = [];
  private seen = new Uint32Array(1024);
  private generation = 0;
  private readonly maxBlockSize: number;
  /** Keys of the features last looked up, so `match` then `add` of one record computes them once. */
  private lastFeatures: MatchFeatures | undefined;
  private lastKeys: string[] = [];
  /**
   * The blocks `candidates` found for `lastKeys` (undefined: none yet), valid while `changes` is
   * `lastBlocksAt`: `add` of the record just matched then needs no second lookup of each key.
   */
  private lastBlocks: (number[] | undefined)[] = [];
  private lastBlocksAt = -1;
  /** Adds and removes so far. */
  private changes = 0;
  /** Comparisons made by `match` so far (for benchmarks). */
  comparisons = 0;

  constructor(
    readonly model: MatchModel,
    options: MatchIndexOptions = {},
  ) {
    this.maxBlockSize = options.maxBlockSize ?? 500;
  }

  get size(): number {
    return this.slots.size;
  }

  get(id: string): MatchFeatures | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.records[slot];
  }

  /** Adds a record, replacing an earlier version with the same id. `keys`: its blocking keys, when the caller has them. */
  add(features: MatchFeatures, keys: string[] = this.keysOf(features)): void {
    this.remove(features.id);
    // The blocks `candidates` just looked up for these keys, when nothing was added or removed since.
    const found = keys === this.lastKeys && this.lastBlocksAt === this.changes ? this.lastBlocks : undefined;
    this.changes++;
    const slot = this.records.length;
    this.records.push(features);
    this.slots.set(features.id, slot);
    this.keysBySlot.push(keys);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const block = found ? found[i] : this.blocks.get(key);
      if (block) block.push(slot);
      else this.blocks.set(key, [slot]);
    }
  }

  remove(id: string): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.changes++;
    for (const key of this.keysBySlot[slot] ?? []) {
      const block = this.blocks.get(key);
      if (!block) continue;
      const at = block.indexOf(slot);
      if (at >= 0) block.splice(at, 1);
      if (block.length === 0) this.blocks.delete(key);
    }
    this.records[slot] = undefined;
    this.keysBySlot[slot] = undefined;
    this.slots.delete(id);
    return true;
  }

  private keysOf(features: MatchFeatures): string[] {
    if (features !== this.lastFeatures) {
      // An indexed record's keys as they were worked out when it was added: re-clustering asks
      // for the candidates of every record it holds, and building the key strings again (then
      // hashing them for the lookup) cost more than the lookups themselves.
      const slot = this.slots.get(features.id);
      const stored = slot !== undefined && this.records[slot] === features ? this.keysBySlot[slot] : undefined;
      this.lastFeatures = features;
      this.lastKeys = stored ?? blockingKeys(features);
    }
    return this.lastKeys;
  }

  /** Records sharing at least one blocking key with `features` (not itself). `keys`: its blocking keys, when the caller has them. */
  candidates(features: MatchFeatures, keys: readonly string[] = this.keysOf(features)): MatchFeatures[] {
    if (this.seen.length < this.records.length) {
      const grown = new Uint32Array(this.records.length * 2);
      grown.set(this.seen);
      this.seen = grown;
    }
    const mark = ++this.generation;
    const out: MatchFeatures[] = [];
    const remember = keys === this.lastKeys;
    if (remember) {
      this.lastBlocks.length = keys.length;
      this.lastBlocksAt = this.changes;
    }
    for (let i = 0; i < keys.length; i++) {
      const block = this.blocks.get(keys[i]!);
      if (remember) this.lastBlocks[i] = block;
      if (!block || block.length > this.maxBlockSize) continue;
      for (const slot of block) {
        if (this.seen[slot] === mark) continue;
        this.seen[slot] = mark;
        const record = this.records[slot];
        if (record && record.id !== features.id) out.push(record);
      }
    }
    return out;
  }

  /** Decides link / review / new for `features` against the index (does not add it). */
  match(features: MatchFeatures, options?: DecideOptions): Decision {
    const candidates = this.candidates(features);
    this.comparisons += candidates.length;
    return decide(features, candidates, this.model, options);
  }
}
