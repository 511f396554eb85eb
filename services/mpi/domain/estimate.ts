/**
 * Estimating a matching model from a set of records, end to end: candidate pairs from
 * blocking (for m, by EM), random pairs (for u), twins from within each source. Used to
 * produce `default-model.json`, by the benchmark, and by anyone re-estimating the model
 * on their partnership's own records (the methodology review of MI-L5).
 */
import { matchProbability, MatchIndex, scoreOnly, type Outcome } from './engine.js';
import type { MatchFeatures } from './features.js';
import { compareAll, FIELD_BY_FIELD, FIELD_COUNT, FIELD_LEVELS, FIELD_NAMES, fieldIndex, MISSING, RESIDENCE_PARTS, SCORED_FIELDS, type FieldName } from './comparators.js';
import {
  chanceAgreement,
  estimateModel,
  nonMatchShare,
  thresholdsFor,
  TERM_FREQUENCY_FIELDS,
  type TermFrequencies,
  type TermFrequencyField,
  estimateTwins,
  levelWeight,
  levelProbabilities,
  type SharedHomeNames,
  type PersonLevels,
  sampleCrossPairs,
  sampleRandomPairs,
  assertValidModel,
  type EstimateOptions,
  type MatchModel,
  type RecordPair,
} from './model.js';

export interface RecordEstimateOptions extends Omit<EstimateOptions, 'randomPairs' | 'universePairs' | 'twins'> {
  /** Random pairs to sample for u (default 500,000). */
  readonly randomPairs?: number;
  /** Seed of the random-pair sample (default 1). */
  readonly seed?: number;
  /** Twin guard probabilities (defaults 0.95 and 0.05); the guard is left out when the data show no twins. */
  readonly twinLinkProbability?: number;
  readonly twinReviewProbability?: number;
  /**
   * How the home is scored: `from-data` (default) once as one `residence` comparison where the
   * records show people sharing homes, field by field otherwise (`showsSharedHomes`); `once`
   * always as one comparison — for a model used on records it was not estimated from (the
   * shipped default), which cannot know whether they do.
   */
  readonly home?: 'from-data' | 'once';
}

/** An index that only blocks (candidates need no model). */
function blockingIndex(): MatchIndex {
  return new MatchIndex({ version: 1, fields: {}, thresholds: { upper: 0, lower: 0 } });
}

/** Model for deduplicating one set of records (an MPI: every record against those before it). */
export function estimateModelForRecords(records: readonly MatchFeatures[], options: RecordEstimateOptions = {}): MatchModel {
  const index = blockingIndex();
  const candidates: RecordPair[] = [];
  for (const f of records) {
    for (const candidate of index.candidates(f)) candidates.push([f, candidate]);
    index.add(f);
  }
  const n = records.length;
  return withHomeScoring(records, options.home, (fields) =>
    estimateModel(candidates, {
      ...options,
      fields,
      randomPairs: sampleRandomPairs(records, options.randomPairs ?? 500_000, options.seed ?? 1),
      universePairs: (n * (n - 1)) / 2,
      ...twinsOption(records, options),
    }),
  );
}

/**
 * Do the records show people sharing homes? Among random pairs, those at one address are the
 * matches expected there (prior · m) plus pairs of different people at one address. Where
 * different people outnumber the expected matches — a random pair sharing an address is more
 * likely two people than one — and not by chance (beyond three Poisson standard deviations),
 * non-matches agree on postcode, address and phone together, and the home is scored once
 * (`residence`). Otherwise (people recorded one by one, as in FEBRL, where a shared address is
 * almost only ever one person) the parts agree independently and each keeps its own weight.
 * Reads the residence "address" level of a model estimated with it (u there is the random-pair
 * share less the expected matches: `nonMatchShare`).
 */
export function showsSharedHomes(model: MatchModel): boolean {
  const address = model.fields.residence?.address;
  const pairs = model.estimation?.randomPairs;
  const prior = model.estimation?.prior;
  if (!address || !pairs || prior === undefined) return true;
  const expectedMatches = pairs * prior * address.m;
  const differentPeople = pairs * nonMatchShare(address.u, address.m, prior, pairs) * (1 - prior);
  return differentPeople > expectedMatches && differentPeople > 3 * Math.sqrt(expectedMatches + 1);
}

/**
 * Estimates with the home scored once — with the names of people sharing a home measured
 * (`estimateSharedHomeNames`) — and again field by field when the data show no shared homes.
 */
function withHomeScoring(records: readonly MatchFeatures[], home: RecordEstimateOptions['home'], estimate: (fields: readonly FieldName[]) => MatchModel): MatchModel {
  const homeOnce = estimate(SCORED_FIELDS);
  if (home === 'once' || showsSharedHomes(homeOnce)) return withSharedHomeNames(homeOnce, records);
  return estimate(FIELD_BY_FIELD);
}

function withSharedHomeNames(model: MatchModel, records: readonly MatchFeatures[]): MatchModel {
  const sharedHomeNames = estimateSharedHomeNames(records, model);
  return sharedHomeNames ? { ...model, sharedHomeNames } : model;
}

/** Residence levels at which two records share a building or a phone: where a household's names are compared. */
const HOME_LEVELS: readonly string[] = ['address', 'near-address', 'phone', 'postcode', 'neighbour'];
/** Records at one postcode unit or phone beyond this many are left out (a care home, a hostel: not a household). */
const MAX_HOME_BLOCK = 200;
/** Fewest different people (posterior-weighted pairs) at a residence level to measure their names from. */
const MIN_HOME_PAIRS = 30;

/**
 * u of the family name's levels among different people who share a home, per residence level
 * (see `SharedHomeNames` in model.ts), read from the records themselves: every pair at one
 * postcode unit or phone number is compared; each counts as two people with the probability the
 * model gives from the fields other than the names (CHI, birth date, sex and the residence
 * itself, with the model's prior), so the same person recorded twice at one address is taken out.
 * A level with fewer than `MIN_HOME_PAIRS` such pairs keeps the family name's ordinary weights.
 * Undefined when no level has enough, or the model does not score the residence.
 */
export function estimateSharedHomeNames(records: readonly MatchFeatures[], model: MatchModel): SharedHomeNames | undefined {
  if (!model.fields.residence || !model.fields.family) return undefined;
  const prior = model.estimation?.prior;
  if (prior === undefined || !(prior > 0 && prior < 1)) return undefined;
  const priorLogOdds = log2Odds(prior);
  const residenceLevels = FIELD_LEVELS.residence as readonly string[];
  const homeLevel = residenceLevels.map((level) => HOME_LEVELS.includes(level));
  const evidenceFields = FIELD_NAMES.map((field, f) => ({ field, f })).filter(({ field }) => field !== 'given' && field !== 'family' && model.fields[field]);
  const weights = evidenceFields.map(({ field }) =>
    Float64Array.from(FIELD_LEVELS[field] as readonly string[], (level) => {
      const p = levelProbabilities(field, model.fields[field]!, level);
      return p ? levelWeight(p) : 0;
    }),
  );
  const family = fieldIndex('family');
  const residence = fieldIndex('residence');
  const counts = residenceLevels.map(() => ({ pairs: 0, family: new Float64Array(FIELD_LEVELS.family.length) }));
  const buffer = new Int8Array(FIELD_COUNT);
  const byPostcode = new Map<string, MatchFeatures[]>();
  const byPhone = new Map<string, MatchFeatures[]>();
  const add = (blocks: Map<string, MatchFeatures[]>, key: string | undefined, r: MatchFeatures) => {
    if (key === undefined) return;
    const block = blocks.get(key);
    if (block) block.push(r);
    else blocks.set(key, [r]);
  };
  for (const r of records) {
    add(byPostcode, r.pc, r);
    add(byPhone, r.ph, r);
  }
  const countPair = (a: MatchFeatures, b: MatchFeatures) => {
    compareAll(a, b, buffer);
    const r = buffer[residence]!;
    if (r === MISSING || !homeLevel[r] || buffer[family] === MISSING) return;
    let score = priorLogOdds;
    evidenceFields.forEach(({ f }, k) => {
      const level = buffer[f]!;
      if (level !== MISSING) score += weights[k]![level]!;
    });
    const twoPeople = 1 - 1 / (1 + 2 ** -score);
    const c = counts[r]!;
    c.pairs += twoPeople;
    c.family[buffer[family]!]! += twoPeople;
  };
  const counted = (pc: string | undefined) => pc !== undefined && byPostcode.get(pc)!.length <= MAX_HOME_BLOCK;
  for (const [blocks, phoneBlocks] of [
    [byPostcode, false],
    [byPhone, true],
  ] as const) {
    for (const block of blocks.values()) {
      if (block.length < 2 || block.length > MAX_HOME_BLOCK) continue;
      for (let i = 1; i < block.length; i++) {
        for (let j = 0; j < i; j++) {
          // A pair sharing a phone and a postcode unit was counted with the postcode's block.
          if (phoneBlocks && block[i]!.pc === block[j]!.pc && counted(block[i]!.pc)) continue;
          countPair(block[i]!, block[j]!);
        }
      }
    }
  }
  const distribution = (names: readonly string[], levelCounts: Float64Array) => {
    const total = levelCounts.reduce((sum, c) => sum + c, 0);
    return Object.fromEntries(names.map((name, l) => [name, round6((levelCounts[l]! + 0.5) / (total + 0.5 * names.length))]));
  };
  const table: { [level: string]: SharedHomeNames[string] } = {};
  residenceLevels.forEach((level, r) => {
    const c = counts[r]!;
    if (c.pairs < MIN_HOME_PAIRS) return;
    table[level] = { pairs: Math.round(c.pairs), family: distribution(FIELD_LEVELS.family, c.family) };
  });
  return Object.keys(table).length > 0 ? table : undefined;
}

/** Model for linking one file (`right`) against another (`left`). */
export function estimateModelForLinkage(
  left: readonly MatchFeatures[],
  right: readonly MatchFeatures[],
  options: RecordEstimateOptions = {},
): MatchModel {
  const index = blockingIndex();
  for (const f of left) index.add(f);
  const candidates: RecordPair[] = [];
  for (const f of right) for (const candidate of index.candidates(f)) candidates.push([f, candidate]);
  return withHomeScoring([...left, ...right], options.home, (fields) =>
    estimateModel(candidates, {
      ...options,
      fields,
      randomPairs: sampleCrossPairs(left, right, options.randomPairs ?? 500_000, options.seed ?? 1),
      universePairs: left.length * right.length,
      // Twins from one file: across the two files the same person looks like a twin.
      ...twinsOption(left, options),
    }),
  );
}

function twinsOption(records: readonly MatchFeatures[], options: RecordEstimateOptions, person?: PersonLevels): Pick<EstimateOptions, 'twins'> {
  const twins = estimateTwins(records, person);
  // A handful of coincidences in a large set is not a twin population worth guarding against.
  if (twins.pairs < 5 || twins.share === 0) return {};
  return {
    twins: {
      share: twins.share,
      given: twins.given,
      ...(twins.sex ? { sex: twins.sex } : {}),
      linkProbability: options.twinLinkProbability ?? 0.95,
      reviewProbability: options.twinReviewProbability ?? 0.05,
    },
  };
}

// ---------------------------------------------------------------------------------
// The partnership's own model: what `infoshare matching estimate` and the automatic
// re-estimation run over the records in the index.

/** A pair a reviewer decided (`$resolve`): `same` is the decision `link`. */
export interface LabelledPair {
  readonly a: MatchFeatures;
  readonly b: MatchFeatures;
  readonly same: boolean;
}

export interface MatchingEstimateOptions {
  /** Kept in `estimation.source`. */
  readonly source?: string;
  readonly description?: string;
  /** Kept in `estimation.date` (the caller's clock: this module is pure). */
  readonly date?: string;
  /** Target posterior P(same person) of the link threshold (default 0.99). */
  readonly linkProbability?: number;
  /** Target posterior of the review threshold (default 0.2). */
  readonly reviewProbability?: number;
  /** Reviewer decisions: known truth for the EM and the calibration of the thresholds. */
  readonly labelledPairs?: readonly LabelledPair[];
  /** Random pairs for u (default 500,000). */
  readonly randomPairs?: number;
  /** Sampling seed (default 1): the same records and seed give the same model. */
  readonly seed?: number;
  /** Fewest records to estimate from (default 1,000); fewer is refused. */
  readonly minRecords?: number;
  /** Most values listed per term-frequency table (default 5,000; rarer values share the floor). */
  readonly maxTermValues?: number;
  /** How the home is scored (see `RecordEstimateOptions.home`; default `from-data`). */
  readonly home?: 'from-data' | 'once';
}

/** What an estimation found, beside the model: for the matching report and the estimation's answer. */
export interface EstimationReport {
  readonly records: number;
  readonly candidatePairs: number;
  readonly randomPairs: number;
  readonly iterations: number;
  /** The EM runs m was estimated in (Splink's training sessions), with the pairs each read and the matches it found. */
  readonly sessions: readonly { readonly name: string; readonly pairs: number; readonly matches: number; readonly iterations: number }[];
  /** Estimated share of candidate pairs that are the same person. */
  readonly matchShare: number;
  /** Prior P(two records of the index are one person) the thresholds are set from (after calibration). */
  readonly prior: number;
  readonly thresholds: {
    readonly upper: number;
    readonly lower: number;
    readonly linkProbability: number;
    readonly reviewProbability: number;
  };
  /**
   * What the model predicts for itself at its thresholds, over the candidate pairs
   * (each weighted by its posterior probability of being one person): precision and
   * recall of automatic links, the share of records whose best candidate is in the
   * review band, and the share of review-band pairs that are true matches.
   */
  readonly expected: {
    readonly precision: number;
    readonly recall: number;
    readonly f1: number;
    readonly reviewShareOfRecords: number;
    readonly reviewTrueMatchShare: number;
  };
  /** Reviewer decisions used, and how often the new model agrees with them (P ≥ 0.5 ⇔ link). */
  readonly labelled: { readonly pairs: number; readonly links: number; readonly agreement?: number; readonly calibrationBits: number };
  /** Term-frequency tables: distinct values seen and listed, per field. */
  readonly termFrequencies: { readonly [F in TermFrequencyField]?: { readonly distinct: number; readonly listed: number } };
}

export interface IndexEstimate {
  readonly model: MatchModel;
  readonly report: EstimationReport;
}

/** Estimation refused because the data cannot support it (the model in use stays). */
export class EstimationRefused extends Error {
  override readonly name = 'EstimationRefused';
}

const ESTIMATE_DEFAULTS = { minRecords: 1000, linkProbability: 0.99, reviewProbability: 0.2, maxTermValues: 5000 } as const;

/** Fewest candidate pairs (and estimated matches among them) EM needs to say anything. */
const MIN_CANDIDATE_PAIRS = 100;
const MIN_ESTIMATED_MATCHES = 20;
/** Reviewer decisions before they calibrate the thresholds at all; their pull grows as n / (n + this). */
const CALIBRATION_SHRINK = 20;
/** The most reviewer calibration may move the prior log-odds, either way (bits). */
const MAX_CALIBRATION_BITS = 6;

/**
 * The partnership's matching model, learned from the records in its index (Splink's method):
 * m for every comparison level by EM over the candidate pairs blocking produces, u from
 * random pairs, term-frequency tables for forename, family name and postcode, the twin guard
 * from twins within each agency, and thresholds from target posterior probabilities. Reviewer
 * decisions (`labelledPairs`) enter the EM with their known class and calibrate the prior the
 * thresholds are set from. Refuses (EstimationRefused) an index too small to estimate from.
 */
export function estimateMatchingModel(records: readonly MatchFeatures[], options: MatchingEstimateOptions = {}): IndexEstimate {
  const minRecords = options.minRecords ?? ESTIMATE_DEFAULTS.minRecords;
  const linkProbability = options.linkProbability ?? ESTIMATE_DEFAULTS.linkProbability;
  const reviewProbability = options.reviewProbability ?? ESTIMATE_DEFAULTS.reviewProbability;
  if (!(reviewProbability > 0 && reviewProbability <= linkProbability && linkProbability < 1)) {
    throw new EstimationRefused(`Target probabilities must satisfy 0 < review (${reviewProbability}) ≤ link (${linkProbability}) < 1`);
  }
  if (records.length < minRecords) {
    throw new EstimationRefused(
      `The index holds ${records.length} record(s); estimating a matching model needs at least ${minRecords}. The model in use stays.`,
    );
  }
  const index = blockingIndex();
  const candidates: RecordPair[] = [];
  for (const f of records) {
    for (const candidate of index.candidates(f)) candidates.push([f, candidate]);
    index.add(f);
  }
  if (candidates.length < MIN_CANDIDATE_PAIRS) {
    throw new EstimationRefused(
      `Only ${candidates.length} candidate pair(s) among ${records.length} records (at least ${MIN_CANDIDATE_PAIRS} needed): too few to estimate from. The model in use stays.`,
    );
  }
  const labelled = options.labelledPairs ?? [];
  const n = records.length;
  const sessions = SESSIONS.map((session) => runSession(session, records, labelled));
  const estimatedMatches = matchesFromSessions(sessions);
  if (estimatedMatches < MIN_ESTIMATED_MATCHES) {
    throw new EstimationRefused(
      `EM finds about ${Math.round(estimatedMatches)} pair(s) of records of one person among ${n} records (at least ${MIN_ESTIMATED_MATCHES} needed): the index shows too few people recorded twice to learn from. The model in use stays.`,
    );
  }
  const universe = (n * (n - 1)) / 2;
  const emPrior = Math.min(0.5, estimatedMatches / universe);
  const random = chanceAgreement(sampleRandomPairs(records, options.randomPairs ?? 500_000, options.seed ?? 1));
  const homeOnce = combineSessions(sessions, random.u, SCORED_FIELDS);
  const sharedHomes =
    options.home === 'once' || showsSharedHomes({ version: 1, fields: homeOnce, thresholds: { upper: 0, lower: 0 }, estimation: { method: 'em', randomPairs: random.pairs, prior: emPrior } });
  const fields = sharedHomes ? combineSessions(sessions, random.u, SCORED_FIELDS, true) : combineSessions(sessions, random.u, FIELD_BY_FIELD);
  const matchShare = round6(Math.min(1, estimatedMatches / candidates.length));
  const em: MatchModel = {
    version: 1,
    ...(options.description ? { description: options.description } : {}),
    estimation: {
      method: 'em',
      ...(options.source ? { source: options.source } : {}),
      pairs: sessions.reduce((sum, x) => sum + x.pairs, 0),
      randomPairs: random.pairs,
      iterations: Math.max(...sessions.map((x) => x.iterations)),
      matchShare,
      prior: round6(emPrior),
      ...(options.date ? { date: options.date } : {}),
      ...(labelled.length > 0 ? { labelledPairs: labelled.length } : {}),
    },
    fields,
    thresholds: thresholdsFor(emPrior, { linkProbability, reviewProbability }),
    // Twins are read from within each agency's own register; records without an agency have none to read.
    // Duplicates within a register are told from twins by how one person's records compare (m).
    ...twinsOption(records.filter((r) => r.ag !== undefined), {}, fields),
  };
  // Tables only for the fields the model scores (no postcode table when the postcode is scored within `residence`).
  const tables = termFrequencyTables(records, options.maxTermValues ?? ESTIMATE_DEFAULTS.maxTermValues, TERM_FREQUENCY_FIELDS.filter((f) => fields[f] !== undefined));
  const withTf: MatchModel = { ...(sharedHomes ? withSharedHomeNames(em, records) : em), termFrequencies: tables.tables, estimation: { ...em.estimation!, method: 'em', records: n } };

  // Reviewer calibration: shift the prior log-odds so the model's probabilities agree, on the
  // decided pairs, with what reviewers decided (shrunk towards no shift while decisions are few).
  const labelledScores = labelled.map((p) => scoreOnly(p.a, p.b, withTf).score);
  const calibrationBits = calibrate(labelledScores, labelled.map((p) => p.same), log2Odds(emPrior));
  const prior = calibrationBits === 0 ? emPrior : fromLog2Odds(log2Odds(emPrior) + calibrationBits);
  const model: MatchModel = {
    ...withTf,
    estimation: { ...withTf.estimation!, prior: round6(prior), calibration: round2(calibrationBits), linkProbability, reviewProbability },
    thresholds: thresholdsFor(prior, { linkProbability, reviewProbability }),
  };
  assertValidModel(model);

  const links = labelled.filter((p) => p.same).length;
  const agreement =
    labelled.length === 0
      ? undefined
      : round4(labelled.filter((p, i) => (matchProbability(labelledScores[i]!, model) >= 0.5) === p.same).length / labelled.length);
  return {
    model,
    report: {
      records: n,
      candidatePairs: candidates.length,
      randomPairs: em.estimation?.randomPairs ?? 0,
      iterations: em.estimation?.iterations ?? 0,
      sessions: sessions.map(({ name, pairs, matches, iterations }) => ({ name, pairs, matches: Math.round(matches), iterations })),
      matchShare,
      prior: model.estimation!.prior!,
      thresholds: { ...model.thresholds, linkProbability, reviewProbability },
      expected: expectedQuality(candidates, model, n),
      labelled: { pairs: labelled.length, links, ...(agreement !== undefined ? { agreement } : {}), calibrationBits: round2(calibrationBits) },
      termFrequencies: tables.summary,
    },
  };
}

/**
 * One EM run (Splink's "training session"): the pairs that agree exactly on some fields,
 * with m estimated for every other field. Running EM on pairs that agree on a field
 * teaches nothing about that field, but it keeps the latent class "the same person": over
 * all candidate pairs at once, pairs of one household (same postcode and address, different
 * people) are common enough that EM learns "same address" instead, and then a person who
 * moved cannot link (m of a different postcode near 0). Over pairs born the same day, or
 * named alike, only one person explains agreement on everything else.
 */
interface Session {
  readonly name: string;
  /** The value pairs must share, or undefined when a record has none. */
  readonly key: (f: MatchFeatures) => string | undefined;
  /** The fields the key fixes (not estimated in this session). */
  readonly fixed: readonly FieldName[];
  /**
   * Fields estimated over the posteriors the others give (never steering the E step). Over
   * pairs born the same day the names decide who is one person, so postcode, address, town and
   * phone — which disagree together when a person moves — stay passive; over pairs named alike
   * the birth date alone would be too little, so there they take part.
   */
  readonly passive: readonly FieldName[];
  /** m of the key's own agreement, as another session estimates it: P(a pair of one person shares the key). */
  readonly keyAgreement: (m: ReadonlyMap<FieldName, Float64Array>) => number | undefined;
  /** Its pairs share a home: where the data show shared homes, its non-matches are mostly one household's members (`NAMESAKE_FIELDS`). */
  readonly atHome?: true;
}

/**
 * Fields that change together when a person moves: estimated over the identity fields' posteriors
 * (see EstimateOptions.passiveFields). The parts are passive in every session: they are scored
 * either through the one `residence` comparison (where the data show shared homes) or, one by
 * one, only where they agree independently for non-matches (`showsSharedHomes`).
 */
const LOCATION_FIELDS: readonly FieldName[] = [...RESIDENCE_PARTS, 'residence'];

const SESSIONS: readonly Session[] = [
  {
    name: 'same birth date',
    key: (f) => (f.y !== undefined && f.m !== undefined && f.d !== undefined ? `${f.y}-${f.m}-${f.d}` : undefined),
    fixed: ['birthDate'],
    passive: LOCATION_FIELDS,
    keyAgreement: (m) => m.get('birthDate')?.[0],
  },
  {
    name: 'same forename and family name',
    key: (f) => (f.g && f.f ? `${f.g}|${f.f}` : undefined),
    fixed: ['given', 'family'],
    passive: RESIDENCE_PARTS,
    keyAgreement: (m) => {
      const given = m.get('given')?.[0];
      const family = m.get('family')?.[0];
      return given !== undefined && family !== undefined ? given * family : undefined;
    },
  },
  {
    // Where the names and the birth date are all active (they do not move with a person), so
    // their m is identified even in data without sex or CHI; the rest of the address is not
    // estimated here, since agreeing on the postcode makes agreeing on it likelier.
    name: 'same postcode',
    atHome: true,
    key: (f) => f.pc,
    fixed: LOCATION_FIELDS,
    passive: RESIDENCE_PARTS,
    keyAgreement: (m) => m.get('postcode')?.[0],
  },
];

/** Records sharing one key beyond this many are left out of a session (a very common value says little). */
const MAX_SESSION_BLOCK = 200;

interface SessionResult {
  readonly name: string;
  readonly pairs: number;
  /** Estimated pairs of one person among them. */
  readonly matches: number;
  readonly iterations: number;
  /** m by field (estimated fields only), by level index. */
  readonly m: ReadonlyMap<FieldName, Float64Array>;
  /** Fields that steered the E step (estimated, not passive, present in some pair). */
  readonly active: readonly FieldName[];
  readonly session: Session;
}

/**
 * A two-class latent class model is identified only with at least three conditionally
 * independent indicators (Goodman 1974): with two (forename and family name alone, in data
 * without sex or CHI), EM can explain a pair whose names both differ as a non-match at no
 * cost, and m of "different" collapses towards 0 — a replaced name then vetoes a true pair.
 */
const MIN_ACTIVE_FIELDS = 3;

function identified(s: SessionResult): boolean {
  return s.active.length >= MIN_ACTIVE_FIELDS;
}

function runSession(session: Session, records: readonly MatchFeatures[], labelled: readonly LabelledPair[]): SessionResult {
  const blocks = new Map<string, MatchFeatures[]>();
  for (const r of records) {
    const key = session.key(r);
    if (key === undefined) continue;
    const block = blocks.get(key);
    if (block) block.push(r);
    else blocks.set(key, [r]);
  }
  const pairs: RecordPair[] = [];
  for (const block of blocks.values()) {
    if (block.length < 2 || block.length > MAX_SESSION_BLOCK) continue;
    for (let i = 1; i < block.length; i++) for (let j = 0; j < i; j++) pairs.push([block[i]!, block[j]!]);
  }
  const estimated = FIELD_NAMES.filter((f) => !session.fixed.includes(f));
  if (pairs.length < MIN_CANDIDATE_PAIRS) return { name: session.name, pairs: pairs.length, matches: 0, iterations: 0, m: new Map(), active: [], session };
  const model = estimateModel(pairs, {
    fields: estimated,
    passiveFields: session.passive,
    labelledPairs: labelled.filter((p) => session.key(p.a) !== undefined && session.key(p.a) === session.key(p.b)).map((p) => [p.a, p.b, p.same] as const),
  });
  const m = new Map<FieldName, Float64Array>();
  for (const field of estimated) {
    const levels = model.fields[field];
    if (levels) m.set(field, Float64Array.from(FIELD_LEVELS[field] as readonly string[], (level) => levels[level]?.m ?? 0));
  }
  return {
    name: session.name,
    pairs: pairs.length,
    matches: (model.estimation?.matchShare ?? 0) * pairs.length,
    iterations: model.estimation?.iterations ?? 0,
    m,
    active: estimated.filter((f) => m.has(f) && !session.passive.includes(f)),
    session,
  };
}

/**
 * Pairs of one person in the whole index: each session found its matches among the pairs
 * sharing its key; divided by the chance that a pair of one person shares that key (m of the
 * key's fields, from the other sessions) it counts them all. The sessions' counts are averaged.
 */
function matchesFromSessions(sessions: readonly SessionResult[]): number {
  const estimates: number[] = [];
  for (const s of sessions) {
    if (s.matches <= 0) continue;
    const others = new Map<FieldName, Float64Array>();
    for (const o of sessions) if (o !== s) for (const [f, m] of o.m) others.set(f, m);
    const share = s.session.keyAgreement(others);
    if (share !== undefined && share > 0) estimates.push(s.matches / share);
  }
  return estimates.length === 0 ? 0 : estimates.reduce((x, y) => x + y, 0) / estimates.length;
}

/**
 * Fields whose m is not read from pairs at one home where the data show shared homes. A namesake
 * of another generation at the same home (a son named after his father) agrees with the person on
 * everything the same-postcode session's E step sees but the birth date (and a CHI, when both
 * have one), so over those pairs EM takes some namesakes for one person and credits their dates
 * to m: on the blind set m(birth dates apart) came out 0.014 there, 0 over pairs named alike,
 * and the true rate is 0. Away from home (pairs named alike, with the home passive) the date
 * tells them apart. Where nobody shares a home (FEBRL) pairs at one postcode are not households,
 * and the session counts as any other.
 */
const NAMESAKE_FIELDS: readonly FieldName[] = ['birthDate'];

/**
 * m per field: the mean over the sessions that estimated it — only those whose E step was
 * identified, when any was, and among them those where the field was passive (it could not
 * steer the latent class), when there are any; for the birth date where the data show shared
 * homes, only sessions away from home, when any (`NAMESAKE_FIELDS`); u from random pairs.
 */
function combineSessions(
  sessions: readonly SessionResult[],
  u: readonly Float64Array[],
  scored: readonly FieldName[],
  sharedHomes = false,
): MatchModel['fields'] {
  const fields: { [F in FieldName]?: { [level: string]: { m: number; u: number } } } = {};
  FIELD_NAMES.forEach((field, f) => {
    if (!scored.includes(field)) return;
    const estimatedBy = sessions.filter((s) => s.m.has(field));
    const awayFromHome = estimatedBy.filter((s) => !s.session.atHome);
    const all = sharedHomes && NAMESAKE_FIELDS.includes(field) && awayFromHome.some(identified) ? awayFromHome : estimatedBy;
    const sound = all.some(identified) ? all.filter(identified) : all;
    const passive = sound.filter((s) => s.session.passive.includes(field));
    const estimates = (passive.length > 0 ? passive : sound).map((s) => s.m.get(field)!);
    if (estimates.length === 0) return;
    const names = FIELD_LEVELS[field] as readonly string[];
    const levels: { [level: string]: { m: number; u: number } } = {};
    names.forEach((level, l) => {
      const m = estimates.reduce((sum, e) => sum + e[l]!, 0) / estimates.length;
      levels[level] = { m: clampProbability(m), u: clampProbability(u[f]![l]!) };
    });
    fields[field] = levels;
  });
  return fields;
}

/** Rounded to 6 significant digits, strictly inside (0, 1) as a valid model requires. */
function clampProbability(p: number): number {
  return Math.min(1 - 1e-9, Math.max(1e-9, round6(p)));
}

const TERM_OF: Readonly<Record<TermFrequencyField, (f: MatchFeatures) => string | undefined>> = {
  given: (f) => f.g,
  family: (f) => f.f,
  postcode: (f) => f.pc,
};

/**
 * Share of records holding each value, per term-frequency field. The `max` most common
 * values seen at least twice are listed; every other value is given the share of the most
 * common one left out (at least one record's), so a rare value is never credited as rarer
 * than the data show.
 */
export function termFrequencyTables(
  records: readonly MatchFeatures[],
  max: number,
  fields: readonly TermFrequencyField[] = TERM_FREQUENCY_FIELDS,
): { tables: { [F in TermFrequencyField]?: TermFrequencies }; summary: EstimationReport['termFrequencies'] } {
  const tables: { [F in TermFrequencyField]?: TermFrequencies } = {};
  const summary: { [F in TermFrequencyField]?: { distinct: number; listed: number } } = {};
  for (const field of fields) {
    const counts = new Map<string, number>();
    let holders = 0;
    for (const r of records) {
      const value = TERM_OF[field](r);
      if (value === undefined || value === '') continue;
      holders++;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    if (holders === 0) continue;
    const sorted = [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const listed = sorted.slice(0, max).filter(([, c]) => c >= 2);
    const largestLeftOut = sorted[listed.length]?.[1] ?? 1;
    tables[field] = {
      values: Object.fromEntries(listed.map(([v, c]) => [v, round6(c / holders)])),
      floor: round6(Math.max(1, largestLeftOut) / holders),
    };
    summary[field] = { distinct: counts.size, listed: listed.length };
  }
  return { tables, summary };
}

/**
 * The shift (bits) of the prior log-odds that makes the mean predicted probability of
 * the decided pairs equal the share reviewers linked, shrunk by n / (n + 20) and bounded.
 * Pairs reach review because the model was unsure of them, so their decisions say how far
 * its probabilities are off where it matters.
 */
function calibrate(scores: readonly number[], same: readonly boolean[], priorLogOdds: number): number {
  if (scores.length === 0) return 0;
  const target = same.filter(Boolean).length;
  const predicted = (shift: number) => scores.reduce((sum, s) => sum + 1 / (1 + 2 ** -(s + priorLogOdds + shift)), 0);
  let lo = -MAX_CALIBRATION_BITS;
  let hi = MAX_CALIBRATION_BITS;
  if (target <= predicted(lo)) return shrink(lo, scores.length);
  if (target >= predicted(hi)) return shrink(hi, scores.length);
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (predicted(mid) < target) lo = mid;
    else hi = mid;
  }
  return shrink((lo + hi) / 2, scores.length);
}

function shrink(bits: number, n: number): number {
  return (bits * n) / (n + CALIBRATION_SHRINK);
}

/** The model's own prediction of its quality over the candidate pairs (see EstimationReport.expected). */
function expectedQuality(candidates: readonly RecordPair[], model: MatchModel, records: number): EstimationReport['expected'] {
  let matches = 0;
  let linked = 0;
  let linkedMatches = 0;
  let band = 0;
  let bandMatches = 0;
  // Per record (the first of each candidate pair is the later-arriving record): its best outcome.
  const best = new Map<string, Outcome>();
  const rank: Readonly<Record<Outcome, number>> = { new: 0, review: 1, link: 2 };
  for (const [a, b] of candidates) {
    const { score, outcome } = scoreOnly(a, b, model);
    const p = matchProbability(score, model);
    matches += p;
    if (outcome === 'link') {
      linked++;
      linkedMatches += p;
    } else if (outcome === 'review') {
      band++;
      bandMatches += p;
    }
    const previous = best.get(a.id);
    if (previous === undefined || rank[outcome] > rank[previous]) best.set(a.id, outcome);
  }
  let reviewRecords = 0;
  for (const outcome of best.values()) if (outcome === 'review') reviewRecords++;
  const precision = linked === 0 ? 1 : linkedMatches / linked;
  const recall = matches === 0 ? 1 : linkedMatches / matches;
  return {
    precision: round4(precision),
    recall: round4(recall),
    f1: round4(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)),
    reviewShareOfRecords: round4(records === 0 ? 0 : reviewRecords / records),
    reviewTrueMatchShare: round4(band === 0 ? 0 : bandMatches / band),
  };
}

function log2Odds(p: number): number {
  return Math.log2(p / (1 - p));
}

function fromLog2Odds(bits: number): number {
  return 1 / (1 + 2 ** -bits);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}
