/**
 * Fellegi–Sunter model: for every field and agreement level, m = P(level | same person)
 * and u = P(level | different people); a level's weight is log2(m / u) and a pair's
 * score is the sum over the fields both records have. Two thresholds on the score:
 * at or above `upper` → automatic link, from `lower` → manual review, below → new person.
 *
 * The model is configuration (`default-model.json`), estimated from data:
 * `estimateModel` runs expectation–maximisation on unlabelled candidate pairs (the pairs
 * blocking produces) for m and takes u from random pairs, as Splink does: random pairs
 * are almost all non-matches and, unlike candidate pairs, are not selected for agreeing,
 * so their agreement rates are the chance rates the weights must discount.
 * `estimateModelFromLabelled` counts levels in pairs whose truth is known.
 */
import type { MatchFeatures } from './features.js';
import { compareAll, FIELD_COUNT, FIELD_LEVELS, FIELD_NAMES, fieldIndex, MISSING, SCORED_FIELDS, type FieldName } from './comparators.js';

export interface LevelProbabilities {
  /** P(level | same person). */
  readonly m: number;
  /** P(level | different people). */
  readonly u: number;
}

/** m/u per level name of one field; a level left out weighs 0. */
export type FieldModel = { readonly [level: string]: LevelProbabilities };

/**
 * Guard against linking twins. A pair whose forenames differ while family name and birth
 * date agree is either one person with a changed or mistyped forename or two people born
 * into one family on one day. The comparison's independence assumption cannot see the
 * second case, so the engine weighs the two explicitly, over the fields that tell them
 * apart (forename, sex, CHI):
 *   P(same | evidence) = Π m / (Π m + share · Π P(level | twins)).
 * All numbers come from the data: `estimateTwins` reads them off pairs within one agency's
 * own register that share family name and birth date (different people by construction).
 */
export interface TwinGuard {
  /** Share of records with a twin (or same-day sibling) in the same source. */
  readonly share: number;
  /** P(forename level | twins), by level name. */
  readonly given: { readonly [level: string]: number };
  /** P(sex level | twins), by level name. */
  readonly sex?: { readonly [level: string]: number };
  /** Below this probability of being the same person, such a pair is never linked automatically. */
  readonly linkProbability: number;
  /** Below this, such a pair is not worth a reviewer's time: a new person. */
  readonly reviewProbability: number;
}

/**
 * Term-frequency adjustment of one field (Splink's): an exact agreement on a common value
 * ("smith", a care home's postcode) is weaker evidence than on a rare one ("auchinachie").
 * For an exact agreement on value v the field's u becomes the share of records holding v,
 * so the weight is log2(m / tf(v)) instead of log2(m / u): the level's weight plus
 * log2(u / tf(v)). Values are normalised as the features hold them (forename `g`, family
 * name `f`, postcode `pc`).
 */
export interface TermFrequencies {
  /** Share of the index's records holding each value, for the values common enough to list. */
  readonly values: { readonly [value: string]: number };
  /**
   * Share assumed for a value not listed (the largest an unlisted value can have: conservative);
   * the bonus it gives is capped at `UNLISTED_TERM_MAX_BONUS_BITS`.
   */
  readonly floor: number;
}

/**
 * The most bits an exact agreement on a value the term-frequency table does not list may add
 * to the level's own weight. Such a value was seen at most once when the model was estimated
 * — or never: a name new since then, perhaps common among the records of an agency onboarded
 * after the estimation. Taken at the table's floor share (one record's, when every value seen
 * twice is listed), its bonus would be log2(u · records): the largest any value gets, growing
 * with the index without bound, on a value the data said nothing about — two such names would
 * add 10+ bits and could link strangers on their names alone. A listed value keeps the
 * adjustment its measured share gives; an unlisted value at most this (or less, when the floor
 * is itself common). Measured: estimating on half of each benchmark set and matching all of
 * it, the cap left every F1 unchanged (FEBRL3 0.9971, randomised seeds 1-3 0.9892 / 0.9937 /
 * 0.9817; a cap of 0 bits cost FEBRL3 0.0004).
 */
export const UNLISTED_TERM_MAX_BONUS_BITS = 1;

/**
 * The family name of people who share a home, scored jointly with the residence. A household
 * shares its family name: among *different* people at one address the family name agrees far
 * more often (≈ 0.78 on the held-out proxy) than among different people drawn at random (≈ 0.015),
 * so once the residence agrees, a family-name agreement is not the independent evidence its
 * random-pair u says (Fellegi–Sunter's conditional independence fails for non-matches, as it
 * does for the parts of an address) — and a son named after his father at his father's address
 * scored as one person. For each residence level at which records share a building or a phone,
 * this holds u of the family name's levels among different people who compare at that level —
 * measured on the pairs of the index's own records at one postcode unit or phone, each weighted
 * by the probability the other fields give that they are two people — and the engine scores the
 * family name there as log2(m / u at home) instead of log2(m / u): the pair's
 * u(family, residence) = u(residence) · u(family | residence). No term-frequency adjustment
 * applies there (at home the name is shared whatever its frequency).
 *
 * The forename is not conditioned so: a forename shared at home is the namesake (father and son),
 * and u(forename exact | home) would send every same-name record at one address without a birth
 * date to review, one person or not; where both namesakes are in the index, their birth dates
 * contradict and the clustering asks a reviewer. See `estimateSharedHomeNames`.
 */
export interface SharedHomeNames {
  readonly [residenceLevel: string]: {
    /** Different people (posterior-weighted pairs) the table was read from. */
    readonly pairs: number;
    /** P(family-name level | different people at this residence level), by level name. */
    readonly family: { readonly [level: string]: number };
  };
}

/** Fields that take a term-frequency adjustment, and the feature each one's value is read from. */
export const TERM_FREQUENCY_FIELDS = ['given', 'family', 'postcode'] as const;
export type TermFrequencyField = (typeof TERM_FREQUENCY_FIELDS)[number];

export interface MatchModel {
  readonly version: 1;
  readonly description?: string;
  /** How the numbers were obtained (for the matching report, MI-L5). */
  readonly estimation?: {
    readonly method: 'em' | 'labelled' | 'hand-set';
    readonly source?: string;
    readonly pairs?: number;
    readonly iterations?: number;
    /** Random pairs u was taken from. */
    readonly randomPairs?: number;
    /** Estimated share of candidate pairs that are the same person (λ). */
    readonly matchShare?: number;
    /** Prior probability of a match that the thresholds were set from. */
    readonly prior?: number;
    readonly date?: string;
    /** Records the model was estimated from. */
    readonly records?: number;
    /** Reviewer decisions (labelled pairs) that refined m and the thresholds. */
    readonly labelledPairs?: number;
    /** Target posterior probabilities the thresholds were set from. */
    readonly linkProbability?: number;
    readonly reviewProbability?: number;
    /** Bits added to the prior log-odds by calibrating against reviewer decisions (0: none). */
    readonly calibration?: number;
  };
  /** Fields used; a field left out takes no part in the score. */
  readonly fields: { readonly [F in FieldName]?: FieldModel };
  readonly thresholds: {
    /** Score at or above which a pair is linked automatically. */
    readonly upper: number;
    /** Score at or above which (and below upper) a pair goes to manual review. */
    readonly lower: number;
  };
  readonly twins?: TwinGuard;
  readonly termFrequencies?: { readonly [F in TermFrequencyField]?: TermFrequencies };
  /** u of the names among different people who share a home, by residence level (only in a model that scores `residence`). */
  readonly sharedHomeNames?: SharedHomeNames;
}

/** Smallest probability a level keeps, so no single level is infinitely strong evidence. */
const FLOOR = 1e-6;

export function levelWeight(p: LevelProbabilities): number {
  return Math.log2(Math.max(p.m, FLOOR) / Math.max(p.u, FLOOR));
}

/** The model in the form the comparison loop reads: weights by field index and level index. */
export interface CompiledModel {
  readonly model: MatchModel;
  /** weights[field][level]; `undefined` for a field the model does not use. */
  readonly weights: readonly (Float64Array | undefined)[];
  readonly upper: number;
  readonly lower: number;
  /**
   * Term-frequency adjustments (bits added to an exact agreement's weight) by field index,
   * `undefined` for a field without; `rare` is the adjustment of a value not listed (at most
   * `UNLISTED_TERM_MAX_BONUS_BITS`).
   */
  readonly tf: readonly (CompiledTermFrequencies | undefined)[];
  /**
   * By residence level index: bits to add to the family name's weight (by its level index) when
   * the residence compares at that level — log2(u / u at home) — or undefined where the model has
   * no shared-home table for that level. Undefined when none applies.
   */
  readonly sharedHome?: readonly (CompiledSharedHome | undefined)[];
  /** Twin guard numbers by level index: m of the model and P(level | twins). */
  readonly twin?: {
    readonly share: number;
    readonly mGiven: Float64Array;
    readonly tGiven: Float64Array;
    readonly mSex: Float64Array;
    readonly tSex: Float64Array;
    readonly mChi: Float64Array;
    readonly tChi: Float64Array;
    readonly linkProbability: number;
    readonly reviewProbability: number;
  };
}

/** Bits added to the family name's weight, by its level index, at one residence level: log2(u / u at home). */
export type CompiledSharedHome = Float64Array;

export interface CompiledTermFrequencies {
  readonly adjustments: ReadonlyMap<string, number>;
  readonly rare: number;
}

const compiled = new WeakMap<MatchModel, CompiledModel>();

/**
 * A table applies to its field's exact level, in a model that scores the field. So a postcode
 * table does nothing in a model that scores the postcode only within `residence`: there the
 * "same postcode" level's u leaves out the pairs at one address, and log2(u / tf) would be
 * shifted down for every value.
 */
function compileTermFrequencies(model: MatchModel): (CompiledTermFrequencies | undefined)[] {
  return FIELD_NAMES.map((field) => {
    const table = model.termFrequencies?.[field as TermFrequencyField];
    const exact = model.fields[field]?.[FIELD_LEVELS[field][0]];
    if (!table || !exact) return undefined;
    const u = Math.max(exact.u, FLOOR);
    const adjustment = (share: number) => Math.log2(u / Math.max(share, FLOOR));
    return {
      adjustments: new Map(Object.entries(table.values).map(([value, share]) => [value, adjustment(share)])),
      rare: Math.min(adjustment(table.floor), UNLISTED_TERM_MAX_BONUS_BITS),
    };
  });
}

/**
 * Levels split off a coarser level after models had been estimated and stored: a model without
 * the finer level weighs it as the level it was split from, so the model scores every pair as it
 * did (a level simply left out weighs 0). Birth-date `apart` was split off `different` on
 * 2026-12-07; a model estimated since learns its own weight.
 */
const SPLIT_FROM: { readonly [F in FieldName]?: { readonly [level: string]: string } } = { birthDate: { apart: 'different' } };

/** m/u of a field's level in `levels` (the model's), or of the level it was split from when the model predates it. */
export function levelProbabilities(field: FieldName, levels: FieldModel, level: string): LevelProbabilities | undefined {
  const own = levels[level];
  if (own) return own;
  const parent = SPLIT_FROM[field]?.[level];
  return parent === undefined ? undefined : levels[parent];
}

export function compileModel(model: MatchModel): CompiledModel {
  const cached = compiled.get(model);
  if (cached) return cached;
  const weights = FIELD_NAMES.map((field) => {
    const levels = model.fields[field];
    if (!levels) return undefined;
    const names = FIELD_LEVELS[field] as readonly string[];
    const w = new Float64Array(names.length);
    names.forEach((name, i) => {
      const p = levelProbabilities(field, levels, name);
      w[i] = p ? levelWeight(p) : 0;
    });
    return w;
  });
  const result: CompiledModel = {
    model,
    weights,
    upper: model.thresholds.upper,
    lower: model.thresholds.lower,
    tf: compileTermFrequencies(model),
    ...compileSharedHome(model),
    ...(model.twins && model.twins.share > 0 ? { twin: compileTwins(model, model.twins) } : {}),
  };
  compiled.set(model, result);
  return result;
}

/** The shared-home name adjustments by residence level (see `SharedHomeNames`), for a model that scores the residence. */
function compileSharedHome(model: MatchModel): Pick<CompiledModel, 'sharedHome'> {
  const table = model.sharedHomeNames;
  if (!table || !model.fields.residence) return {};
  const byLevel = (FIELD_LEVELS.residence as readonly string[]).map((residence) => {
    const atHome = table[residence]?.family;
    if (!atHome) return undefined;
    return Float64Array.from(FIELD_LEVELS.family as readonly string[], (level) => {
      const p = model.fields.family?.[level];
      const home = atHome[level];
      return p && home !== undefined ? Math.log2(Math.max(p.u, FLOOR) / Math.max(home, FLOOR)) : 0;
    });
  });
  return byLevel.some((x) => x !== undefined) ? { sharedHome: byLevel } : {};
}

function compileTwins(model: MatchModel, twins: TwinGuard): NonNullable<CompiledModel['twin']> {
  const m = (field: 'given' | 'sex' | 'chi') =>
    Float64Array.from(FIELD_LEVELS[field] as readonly string[], (level) => {
      const p = model.fields[field]?.[level];
      return p ? Math.max(p.m, FLOOR) : 1;
    });
  const t = (field: 'given' | 'sex', given: { readonly [level: string]: number } | undefined) =>
    Float64Array.from(FIELD_LEVELS[field] as readonly string[], (level) => (given ? Math.max(given[level] ?? 0, FLOOR) : 1));
  return {
    share: twins.share,
    mGiven: m('given'),
    tGiven: t('given', twins.given),
    mSex: m('sex'),
    tSex: t('sex', twins.sex),
    mChi: m('chi'),
    // Twins never share a CHI number; a near-miss CHI is as unlikely for them as for anyone.
    tChi: Float64Array.from(FIELD_LEVELS.chi, (level) => (level === 'different' ? 1 : FLOOR)),
    linkProbability: twins.linkProbability,
    reviewProbability: twins.reviewProbability,
  };
}

/** Is `p` a probability strictly between 0 and 1 (a level certain or impossible would weigh ±∞)? */
function isOpenProbability(p: unknown): p is number {
  return typeof p === 'number' && Number.isFinite(p) && p > 0 && p < 1;
}

/**
 * Checks a model read from configuration (or from the MPI's stored versions); throws an
 * Error naming every offending field (`fields.given.exact.m: …`).
 */
export function assertValidModel(value: unknown): asserts value is MatchModel {
  const problems: string[] = [];
  const model = value as Partial<MatchModel> | null;
  if (!model || typeof model !== 'object' || Array.isArray(model)) throw new Error('A matching model must be a JSON object');
  if (model.version !== 1) problems.push('version: must be 1');
  const t = model.thresholds;
  if (!t || typeof t !== 'object' || !Number.isFinite(t.upper) || !Number.isFinite(t.lower)) problems.push('thresholds: upper and lower must be numbers');
  else if (t.lower > t.upper) problems.push('thresholds.lower: must not be above thresholds.upper');
  if (model.fields === undefined || model.fields === null || typeof model.fields !== 'object') problems.push('fields: must be an object of fields');
  for (const [field, levels] of Object.entries(model.fields ?? {})) {
    if (!(field in FIELD_LEVELS)) {
      problems.push(`fields.${field}: unknown field (known: ${FIELD_NAMES.join(', ')})`);
      continue;
    }
    const known = FIELD_LEVELS[field as FieldName] as readonly string[];
    if (!levels || typeof levels !== 'object') {
      problems.push(`fields.${field}: must be an object of levels`);
      continue;
    }
    for (const [level, p] of Object.entries(levels)) {
      if (!known.includes(level)) {
        problems.push(`fields.${field}.${level}: unknown level (known: ${known.join(', ')})`);
        continue;
      }
      for (const which of ['m', 'u'] as const) {
        const value = (p as Partial<LevelProbabilities> | null)?.[which];
        if (!isOpenProbability(value)) problems.push(`fields.${field}.${level}.${which}: must be a probability strictly between 0 and 1 (is ${JSON.stringify(value)})`);
      }
    }
  }
  const prior = model.estimation?.prior;
  if (prior !== undefined && !isOpenProbability(prior)) problems.push(`estimation.prior: must be a probability strictly between 0 and 1 (is ${JSON.stringify(prior)})`);
  if (model.twins) {
    const g = model.twins;
    if (!(g.share >= 0 && g.linkProbability >= 0 && g.linkProbability <= 1 && g.reviewProbability >= 0 && g.reviewProbability <= g.linkProbability)) {
      problems.push('twins: share ≥ 0 and 0 ≤ reviewProbability ≤ linkProbability ≤ 1');
    }
  }
  for (const [level, entry] of Object.entries(model.sharedHomeNames ?? {})) {
    if (!(FIELD_LEVELS.residence as readonly string[]).includes(level)) {
      problems.push(`sharedHomeNames.${level}: unknown residence level (known: ${FIELD_LEVELS.residence.join(', ')})`);
      continue;
    }
    const family = (entry as Partial<SharedHomeNames[string]> | null)?.family;
    if (!family || typeof family !== 'object') {
      problems.push(`sharedHomeNames.${level}.family: must be an object of family-name levels`);
      continue;
    }
    const known = FIELD_LEVELS.family as readonly string[];
    for (const [name, p] of Object.entries(family)) {
      if (!known.includes(name)) problems.push(`sharedHomeNames.${level}.family.${name}: unknown level (known: ${known.join(', ')})`);
      else if (!isOpenProbability(p)) problems.push(`sharedHomeNames.${level}.family.${name}: must be a probability strictly between 0 and 1 (is ${JSON.stringify(p)})`);
    }
  }
  for (const [field, table] of Object.entries(model.termFrequencies ?? {})) {
    if (!(TERM_FREQUENCY_FIELDS as readonly string[]).includes(field)) {
      problems.push(`termFrequencies.${field}: no term-frequency adjustment for this field (known: ${TERM_FREQUENCY_FIELDS.join(', ')})`);
      continue;
    }
    const tf = table as Partial<TermFrequencies> | null;
    if (!isOpenProbability(tf?.floor)) problems.push(`termFrequencies.${field}.floor: must be a probability strictly between 0 and 1`);
    for (const [term, share] of Object.entries(tf?.values ?? {})) {
      if (!isOpenProbability(share)) problems.push(`termFrequencies.${field}.values.${term}: must be a probability strictly between 0 and 1 (is ${JSON.stringify(share)})`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid matching model:\n  - ${problems.join('\n  - ')}`);
}

// ---------------------------------------------------------------------------------
// Estimation

export type RecordPair = readonly [MatchFeatures, MatchFeatures];

export interface EstimateOptions {
  /**
   * Random record pairs to take u from (see `sampleRandomPairs`). Without them u comes
   * from the EM on candidate pairs, which understates chance agreement on the fields
   * blocking selected for.
   */
  readonly randomPairs?: Iterable<RecordPair>;
  /**
   * How many pairs the random pairs were drawn from (n(n−1)/2 for one set, |A|·|B| for
   * two): with the estimated number of matches it gives the prior that sets thresholds.
   */
  readonly universePairs?: number;
  /** Fields to estimate (default: every field with at least one non-missing comparison). */
  readonly fields?: readonly FieldName[];
  /**
   * Fields estimated but kept out of the E step: their m and u are counted over the
   * posteriors the other fields give, so they cannot steer what the latent class means.
   * For fields that disagree together (postcode, address and phone all change when a person
   * moves), which the independence assumption would otherwise let EM mistake for a class
   * of their own ("same household") instead of the person.
   */
  readonly passiveFields?: readonly FieldName[];
  readonly maxIterations?: number;
  /** Stop when no probability moves by more than this. */
  readonly tolerance?: number;
  /** Posterior probability of being the same person at which a pair links (sets `upper`). */
  readonly linkProbability?: number;
  /** Posterior probability at which a pair goes to review (sets `lower`). */
  readonly reviewProbability?: number;
  /**
   * Pairs whose truth a reviewer decided (`$resolve`): in the EM their class is known,
   * so they count wholly towards m (same person) or the non-matches, instead of by the
   * posterior an unlabelled pair gets.
   */
  readonly labelledPairs?: Iterable<readonly [MatchFeatures, MatchFeatures, boolean]>;
  /** Twin guard to carry into the model (see `estimateTwins`). */
  readonly twins?: TwinGuard;
  readonly description?: string;
  readonly source?: string;
  /** Date to record in `estimation.date` (YYYY-MM-DD). */
  readonly date?: string;
}

const DEFAULTS = { maxIterations: 200, tolerance: 1e-7, linkProbability: 0.99, reviewProbability: 0.2 } as const;

/** Distinct level vectors and how many pairs have each: EM then runs over patterns, not pairs. */
interface Patterns {
  readonly levels: Int8Array[];
  readonly counts: number[];
  readonly total: number;
}

function collectPatterns(pairs: Iterable<RecordPair>): Patterns {
  const byKey = new Map<string, number>();
  const levels: Int8Array[] = [];
  const counts: number[] = [];
  const buffer = new Int8Array(FIELD_COUNT);
  let total = 0;
  for (const [a, b] of pairs) {
    compareAll(a, b, buffer);
    const key = buffer.join(',');
    const at = byKey.get(key);
    if (at === undefined) {
      byKey.set(key, levels.length);
      levels.push(buffer.slice());
      counts.push(1);
    } else {
      counts[at]! += 1;
    }
    total++;
  }
  return { levels, counts, total };
}

/** Reviewer-labelled pairs as patterns, split by their truth. */
function collectLabelled(pairs: Iterable<readonly [MatchFeatures, MatchFeatures, boolean]>): { same: Patterns; different: Patterns } {
  const same: RecordPair[] = [];
  const different: RecordPair[] = [];
  for (const [a, b, isSame] of pairs) (isSame ? same : different).push([a, b]);
  return { same: collectPatterns(same), different: collectPatterns(different) };
}

/** Adds each pattern's count to the level it has in field `f`. */
function addCounts(patterns: Patterns, f: number, counts: Float64Array): void {
  for (let p = 0; p < patterns.levels.length; p++) {
    const level = patterns.levels[p]![f]!;
    if (level !== MISSING) counts[level]! += patterns.counts[p]!;
  }
}

function usedFields(patterns: Patterns, requested?: readonly FieldName[]): number[] {
  const wanted = (requested ?? SCORED_FIELDS).map(fieldIndex);
  return wanted.filter((f) => patterns.levels.some((p) => p[f] !== MISSING));
}

function levelCount(f: number): number {
  return FIELD_LEVELS[FIELD_NAMES[f]!].length;
}

/**
 * Fellegi–Sunter parameters from unlabelled data: m (and the share of matches) by
 * expectation–maximisation over the candidate pairs, assuming fields independent given
 * match status (Winkler's method); u from random pairs when given. Thresholds are set so
 * that a linked pair's posterior probability of being the same person is at least
 * `linkProbability`, and a reviewed one's at least `reviewProbability`.
 */
export function estimateModel(candidatePairs: Iterable<RecordPair>, options: EstimateOptions = {}): MatchModel {
  const patterns = collectPatterns(candidatePairs);
  if (patterns.total === 0) throw new Error('estimateModel needs at least one candidate pair');
  const fields = usedFields(patterns, options.fields);
  const maxIterations = options.maxIterations ?? DEFAULTS.maxIterations;
  const tolerance = options.tolerance ?? DEFAULTS.tolerance;

  // Start: matches agree on the best level, non-matches spread as the data do.
  const m: Float64Array[] = [];
  const u: Float64Array[] = [];
  for (let f = 0; f < FIELD_COUNT; f++) {
    const n = levelCount(f);
    const mf = new Float64Array(n);
    const uf = new Float64Array(n);
    for (let l = 0; l < n; l++) mf[l] = l === 0 ? 0.9 : 0.1 / (n - 1);
    let seen = 0;
    for (let p = 0; p < patterns.levels.length; p++) {
      const level = patterns.levels[p]![f]!;
      if (level !== MISSING) {
        uf[level]! += patterns.counts[p]!;
        seen += patterns.counts[p]!;
      }
    }
    for (let l = 0; l < n; l++) uf[l] = (uf[l]! + 1) / (seen + n);
    m.push(mf);
    u.push(uf);
  }
  let lambda = 0.1;

  const labelled = collectLabelled(options.labelledPairs ?? []);
  const passive = new Set((options.passiveFields ?? []).map(fieldIndex));
  const active = fields.filter((f) => !passive.has(f));

  const posterior = new Float64Array(patterns.levels.length);
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    // E step: probability that each pattern is a match.
    let matched = 0;
    for (let p = 0; p < patterns.levels.length; p++) {
      const levels = patterns.levels[p]!;
      let pm = lambda;
      let pu = 1 - lambda;
      for (const f of active) {
        const level = levels[f]!;
        if (level === MISSING) continue;
        pm *= m[f]![level]!;
        pu *= u[f]![level]!;
      }
      posterior[p] = pm / (pm + pu);
      matched += posterior[p]! * patterns.counts[p]!;
    }
    // M step.
    let change = Math.abs(matched / patterns.total - lambda);
    lambda = matched / patterns.total;
    for (const f of fields) {
      const n = levelCount(f);
      const mCounts = new Float64Array(n);
      const uCounts = new Float64Array(n);
      for (let p = 0; p < patterns.levels.length; p++) {
        const level = patterns.levels[p]![f]!;
        if (level === MISSING) continue;
        mCounts[level]! += posterior[p]! * patterns.counts[p]!;
        uCounts[level]! += (1 - posterior[p]!) * patterns.counts[p]!;
      }
      addCounts(labelled.same, f, mCounts);
      addCounts(labelled.different, f, uCounts);
      change = Math.max(change, normaliseInto(mCounts, m[f]!), normaliseInto(uCounts, u[f]!));
    }
    if (change < tolerance) break;
  }

  // The prior that sets thresholds: matches among candidates, or among all pairs when u is from random pairs.
  let prior = lambda;
  let randomPairCount: number | undefined;
  if (options.randomPairs) {
    const random = chanceAgreement(options.randomPairs);
    randomPairCount = random.pairs;
    const universe = options.universePairs ?? random.pairs;
    prior = Math.min(0.5, (lambda * patterns.total) / universe);
    for (const f of fields) u[f] = random.u[f]!;
  }

  return {
    version: 1,
    ...(options.description ? { description: options.description } : {}),
    estimation: {
      method: 'em',
      ...(options.source ? { source: options.source } : {}),
      pairs: patterns.total,
      ...(randomPairCount !== undefined ? { randomPairs: randomPairCount } : {}),
      iterations,
      matchShare: round(lambda),
      prior: round(prior),
      ...(options.date ? { date: options.date } : {}),
      ...(labelled.same.total + labelled.different.total > 0 ? { labelledPairs: labelled.same.total + labelled.different.total } : {}),
      linkProbability: options.linkProbability ?? DEFAULTS.linkProbability,
      reviewProbability: options.reviewProbability ?? DEFAULTS.reviewProbability,
    },
    fields: toFieldModels(fields, m, u),
    thresholds: thresholdsFor(prior, options),
    ...(options.twins ? { twins: options.twins } : {}),
  };
}

/**
 * u for every field and level: the share of random pairs at each level (Laplace-smoothed).
 * Random pairs are almost all different people and, unlike candidate pairs, were not
 * selected for agreeing, so these are the chance agreement rates the weights discount.
 */
export function chanceAgreement(randomPairs: Iterable<RecordPair>): { readonly pairs: number; readonly u: readonly Float64Array[] } {
  const random = collectPatterns(randomPairs);
  if (random.total === 0) throw new Error('randomPairs is empty');
  const u = FIELD_NAMES.map((_, f) => {
    const counts = new Float64Array(levelCount(f));
    for (let p = 0; p < random.levels.length; p++) {
      const level = random.levels[p]![f]!;
      if (level !== MISSING) counts[level]! += random.counts[p]!;
    }
    const shares = new Float64Array(levelCount(f));
    normaliseInto(counts, shares, 0.5);
    return shares;
  });
  return { pairs: random.total, u };
}

/**
 * The share of non-matches at a level, from its share among random pairs less the matches
 * expected among them: a random pair is one person with the prior probability p, so
 * share = p·m + (1 − p)·u. Used to tell whether different people share homes
 * (`showsSharedHomes`), not as a model's u: on a rare level the few random pairs are too few to
 * subtract reliably (7 observed against 8.5 expected sent the synthetic population's exact
 * postcode from +15.8 to +19.8 bits). Never below the half-pair floor of the sample.
 */
export function nonMatchShare(share: number, m: number, prior: number, randomPairs: number): number {
  const floor = 0.5 / randomPairs;
  return Math.max(floor, (share - prior * m) / (1 - prior));
}

function toFieldModels(fields: readonly number[], m: readonly Float64Array[], u: readonly Float64Array[]): { [F in FieldName]?: FieldModel } {
  const models: { [F in FieldName]?: FieldModel } = {};
  for (const f of fields) {
    const name = FIELD_NAMES[f]!;
    const levels: Record<string, LevelProbabilities> = {};
    (FIELD_LEVELS[name] as readonly string[]).forEach((level, l) => {
      levels[level] = { m: openProbability(m[f]![l]!), u: openProbability(u[f]![l]!) };
    });
    models[name] = levels;
  }
  return models;
}

/**
 * Writes `counts` as probabilities into `target` and returns the largest change. The
 * pseudo-count keeps a level never seen in one class from getting probability 0.
 */
function normaliseInto(counts: Float64Array, target: Float64Array, pseudo = 1e-3): number {
  let total = 0;
  for (const c of counts) total += c;
  const n = counts.length;
  let change = 0;
  for (let l = 0; l < n; l++) {
    const next = (counts[l]! + pseudo) / (total + pseudo * n);
    change = Math.max(change, Math.abs(next - target[l]!));
    target[l] = next;
  }
  return change;
}

/**
 * Score thresholds for posterior probabilities, given the prior probability that a
 * scored pair is a match: posterior odds = 2^score · prior / (1 − prior).
 */
export function thresholdsFor(
  prior: number,
  options: Pick<EstimateOptions, 'linkProbability' | 'reviewProbability'> = {},
): MatchModel['thresholds'] {
  const link = options.linkProbability ?? DEFAULTS.linkProbability;
  const review = options.reviewProbability ?? DEFAULTS.reviewProbability;
  const priorLogOdds = Math.log2(prior / (1 - prior));
  const logOdds = (p: number) => Math.log2(p / (1 - p));
  return { upper: round(logOdds(link) - priorLogOdds, 2), lower: round(logOdds(review) - priorLogOdds, 2) };
}

/** m/u by counting levels in pairs whose truth is known (Laplace-smoothed); prior = share of matches. */
export function estimateModelFromLabelled(
  pairs: Iterable<readonly [MatchFeatures, MatchFeatures, boolean]>,
  options: Omit<EstimateOptions, 'maxIterations' | 'tolerance' | 'randomPairs' | 'universePairs'> = {},
): MatchModel {
  const mCounts = FIELD_NAMES.map((_, f) => new Float64Array(levelCount(f)));
  const uCounts = FIELD_NAMES.map((_, f) => new Float64Array(levelCount(f)));
  const seen = new Array<boolean>(FIELD_COUNT).fill(false);
  const buffer = new Int8Array(FIELD_COUNT);
  let matches = 0;
  let total = 0;
  for (const [a, b, same] of pairs) {
    compareAll(a, b, buffer);
    for (let f = 0; f < FIELD_COUNT; f++) {
      const level = buffer[f]!;
      if (level === MISSING) continue;
      seen[f] = true;
      (same ? mCounts : uCounts)[f]![level]! += 1;
    }
    if (same) matches++;
    total++;
  }
  if (matches === 0 || matches === total) throw new Error('estimateModelFromLabelled needs both matching and non-matching pairs');
  const wanted = new Set((options.fields ?? SCORED_FIELDS).map(fieldIndex));
  const fields = FIELD_NAMES.map((_, f) => f).filter((f) => seen[f] && wanted.has(f));
  const m = FIELD_NAMES.map((_, f) => new Float64Array(levelCount(f)));
  const u = FIELD_NAMES.map((_, f) => new Float64Array(levelCount(f)));
  for (const f of fields) {
    normaliseInto(mCounts[f]!, m[f]!, 0.5);
    normaliseInto(uCounts[f]!, u[f]!, 0.5);
  }
  const prior = matches / total;
  return {
    version: 1,
    ...(options.description ? { description: options.description } : {}),
    estimation: {
      method: 'labelled',
      ...(options.source ? { source: options.source } : {}),
      pairs: total,
      matchShare: round(prior),
      prior: round(prior),
      ...(options.date ? { date: options.date } : {}),
    },
    fields: toFieldModels(fields, m, u),
    thresholds: thresholdsFor(prior, options),
    ...(options.twins ? { twins: options.twins } : {}),
  };
}

// ---------------------------------------------------------------------------------
// Sampling and twins

/** Small deterministic PRNG (mulberry32): the same seed gives the same sample, so estimates are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random pairs of two different records of one set (for u of a deduplication). */
export function* sampleRandomPairs(records: readonly MatchFeatures[], count: number, seed = 1): Generator<RecordPair> {
  if (records.length < 2) return;
  const random = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const a = Math.floor(random() * records.length);
    let b = Math.floor(random() * (records.length - 1));
    if (b >= a) b++;
    yield [records[a]!, records[b]!];
  }
}

/** `count` random pairs, one record from each set (for u of a linkage of two files). */
export function* sampleCrossPairs(left: readonly MatchFeatures[], right: readonly MatchFeatures[], count: number, seed = 1): Generator<RecordPair> {
  if (left.length === 0 || right.length === 0) return;
  const random = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    yield [left[Math.floor(random() * left.length)]!, right[Math.floor(random() * right.length)]!];
  }
}

export interface TwinEstimate {
  /** Share of records with a same-family, same-birth-date, different-forename record in their own source. */
  readonly share: number;
  /** Number of such pairs seen. */
  readonly pairs: number;
  /** Of those pairs, how many are estimated to be one person recorded twice (0 without `sameForename`). */
  readonly duplicates?: number;
  /** P(forename level | twins). */
  readonly given: { readonly [level: string]: number };
  /** P(sex level | twins), when sex was recorded. */
  readonly sex?: { readonly [level: string]: number };
}

/**
 * How one person's two records compare, from a model's m (`MatchModel.fields`): what a register's
 * duplicate looks like. With it `estimateTwins` tells duplicates from twins.
 */
export type PersonLevels = MatchModel['fields'];

/** EM rounds separating register duplicates from twins (a two-class mixture over a few hundred pairs). */
/** Forename levels that mean one name written another way: twins agree there only by chance. */
const ONE_NAME_LEVELS = ['nickname', 'other-forename'] as const;
const TWIN_MIXTURE_ITERATIONS = 100;

/**
 * Twins and same-day siblings, read from pairs of records *in the same source* (agency
 * `ag`) with the same family name and full birth date but not the same forename: within
 * one agency's own register those are two people — or one person registered twice under a
 * familiar form or a misspelling of the forename (Joe / Joseph, Debs / Deborah): every register
 * holds such duplicates. Counted as twins, they teach the guard that twins' forenames are
 * often nicknames of each other, and the guard then sends every true pair that differs by a
 * nickname to review. Given how one person's records compare (`sameForename`: the model's m,
 * EM-estimated over pairs of one person), the pairs are split by a two-class mixture: a
 * duplicate's forename, sex and CHI levels follow m (the forename's over its levels other than
 * exact), a twin's follow the twins' own distribution (estimated) and never share a CHI; each
 * pair counts as twins with its posterior. Without it every pair counts as twins. They show
 * how often the twin case arises and how twins' forenames and sexes compare. A data set
 * without twins gives share ~0, and the guard then stays quiet.
 */
export function estimateTwins(records: readonly MatchFeatures[], sameForename?: PersonLevels): TwinEstimate {
  const groups = new Map<string, MatchFeatures[]>();
  for (const r of records) {
    if (!r.f || !r.g || r.y === undefined || r.m === undefined || r.d === undefined) continue;
    const key = `${r.ag ?? ''}|${r.f}|${r.y}-${r.m}-${r.d}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const buffer = new Int8Array(FIELD_COUNT);
  const given = fieldIndex('given');
  const sex = fieldIndex('sex');
  const chi = fieldIndex('chi');
  const found: { a: MatchFeatures; b: MatchFeatures; given: number; sex: number; chi: number }[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        compareAll(group[i]!, group[j]!, buffer);
        // The same forename twice in one register is a duplicate record, not a twin.
        if (buffer[given] === 0 || buffer[given] === MISSING) continue;
        found.push({ a: group[i]!, b: group[j]!, given: buffer[given]!, sex: buffer[sex]!, chi: buffer[chi]! });
      }
    }
  }
  const separated = sameForename ? separateDuplicates(found, sameForename) : undefined;
  const twinWeight = separated?.twin ?? found.map(() => 1);
  const givenCounts = new Float64Array(FIELD_LEVELS.given.length);
  const sexCounts = new Float64Array(FIELD_LEVELS.sex.length);
  const recordWeight = new Map<MatchFeatures, number>();
  found.forEach((pair, k) => {
    const w = twinWeight[k]!;
    givenCounts[pair.given]! += w;
    if (pair.sex !== MISSING) sexCounts[pair.sex]! += w;
    for (const r of [pair.a, pair.b]) recordWeight.set(r, Math.max(recordWeight.get(r) ?? 0, w));
  });
  let withTwin = 0;
  for (const w of recordWeight.values()) withTwin += w;
  const twinPairs = twinWeight.reduce((sum, w) => sum + w, 0);
  const sexTotal = sexCounts.reduce((s, c) => s + c, 0);
  return {
    share: records.length === 0 ? 0 : round(withTwin / records.length, 5),
    pairs: found.length,
    ...(sameForename ? { duplicates: round(found.length - twinPairs, 4) } : {}),
    given: withChanceLevels(smoothedDistribution(FIELD_LEVELS.given, givenCounts), separated?.byChance),
    ...(sexTotal > 0 ? { sex: smoothedDistribution(FIELD_LEVELS.sex, sexCounts) } : {}),
  };
}

/** The twins' forename distribution with the one-name levels at their chance share (see `separateDuplicates`). */
function withChanceLevels(given: { [level: string]: number }, byChance: ReadonlyMap<number, number> | undefined): { [level: string]: number } {
  if (!byChance) return given;
  const result = { ...given };
  for (const [l, share] of byChance) result[FIELD_LEVELS.given[l]!] = round(share, 4);
  return result;
}

function smoothedDistribution(names: readonly string[], counts: Float64Array): { [level: string]: number } {
  const total = counts.reduce((s, c) => s + c, 0);
  return Object.fromEntries(names.map((name, l) => [name, round((counts[l]! + 0.5) / (total + 0.5 * names.length), 4)]));
}

/**
 * Each pair's probability of being twins rather than one person recorded twice (see
 * `estimateTwins`): EM over the pairs with the duplicates' levels fixed at the model's m and the
 * twins' forename and sex distributions and the duplicates' share estimated.
 */
function separateDuplicates(
  pairs: readonly { given: number; sex: number; chi: number }[],
  person: PersonLevels,
): { readonly twin: readonly number[]; readonly byChance: ReadonlyMap<number, number> } {
  const levelsOf = (field: 'given' | 'sex' | 'chi') => Float64Array.from(FIELD_LEVELS[field] as readonly string[], (level) => Math.max(person[field]?.[level]?.m ?? 0, FLOOR));
  const mGiven = levelsOf('given');
  // Only pairs whose forenames are not the same reach here: a duplicate's forename levels are m over the other levels.
  mGiven[0] = 0;
  const notExact = mGiven.reduce((sum, x) => sum + x, 0);
  for (let l = 1; l < mGiven.length; l++) mGiven[l] = mGiven[l]! / notExact;
  const mSex = person.sex ? levelsOf('sex') : undefined;
  const mChi = person.chi ? levelsOf('chi') : undefined;
  // Parents do not give twins one name written two ways (Joseph and Joe; Lucas Caleb and Caleb):
  // twins' forenames agree at the levels that mean one name — a nickname, one's forename the
  // other's middle name — only as often as two different people's do (u, over the levels other
  // than exact). Fixed there, the mixture is identified: free, the twins' distribution could take
  // in every duplicate.
  const uExact = Math.max(person.given?.exact?.u ?? 0, 0);
  const byChance = new Map(
    ONE_NAME_LEVELS.map((name) => [FIELD_LEVELS.given.indexOf(name), Math.min(0.25, Math.max(person.given?.[name]?.u ?? 0, FLOOR) / Math.max(1 - uExact, FLOOR))]),
  );
  let fixedShare = 0;
  for (const share of byChance.values()) fixedShare += share;
  const freeLevels = FIELD_LEVELS.given.length - 1 - byChance.size;
  const tGiven = Float64Array.from(FIELD_LEVELS.given, (_, l) => (l === 0 ? 0 : (byChance.get(l) ?? (1 - fixedShare) / freeLevels)));
  const tSex = Float64Array.from(FIELD_LEVELS.sex, () => 1 / FIELD_LEVELS.sex.length);
  const chiDifferent = FIELD_LEVELS.chi.indexOf('different');
  let duplicateShare = 0.5;
  const twin = pairs.map(() => 1);
  for (let iteration = 0; iteration < TWIN_MIXTURE_ITERATIONS && pairs.length > 0; iteration++) {
    pairs.forEach((pair, k) => {
      let duplicate = duplicateShare * mGiven[pair.given]!;
      let twins = (1 - duplicateShare) * tGiven[pair.given]!;
      if (pair.sex !== MISSING && mSex) {
        duplicate *= mSex[pair.sex]!;
        twins *= tSex[pair.sex]!;
      }
      if (pair.chi !== MISSING && mChi) {
        duplicate *= mChi[pair.chi]!;
        // Twins never share a CHI number (nor one a keying error away).
        twins *= pair.chi === chiDifferent ? 1 : FLOOR;
      }
      twin[k] = twins / (duplicate + twins);
    });
    const twinTotal = twin.reduce((sum, w) => sum + w, 0);
    duplicateShare = Math.min(1 - FLOOR, Math.max(FLOOR, 1 - twinTotal / pairs.length));
    const givenCounts = new Float64Array(tGiven.length);
    const sexCounts = new Float64Array(tSex.length);
    pairs.forEach((pair, k) => {
      givenCounts[pair.given]! += twin[k]!;
      if (pair.sex !== MISSING) sexCounts[pair.sex]! += twin[k]!;
    });
    givenCounts[0] = 0;
    for (const l of byChance.keys()) givenCounts[l] = 0;
    normaliseInto(givenCounts, tGiven, 0.5);
    tGiven[0] = 0;
    for (const l of byChance.keys()) tGiven[l] = 0;
    const free = tGiven.reduce((sum, x) => sum + x, 0);
    for (let l = 1; l < tGiven.length; l++) tGiven[l] = byChance.get(l) ?? (tGiven[l]! / free) * (1 - fixedShare);
    normaliseInto(sexCounts, tSex, 0.5);
  }
  return { twin, byChance };
}

/** Rounded, and kept strictly inside (0, 1) as a valid model requires (a level certain for matches rounds to 1). */
function openProbability(p: number): number {
  return Math.min(1 - 1e-9, Math.max(1e-9, round(p)));
}

function round(x: number, digits = 6): number {
  if (x === 0) return 0;
  // Significant digits for small probabilities, fixed decimals otherwise.
  return Math.abs(x) < 1 ? Number(x.toPrecision(digits)) : Number(x.toFixed(digits));
}
