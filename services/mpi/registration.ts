/**
 * Registering agency records: one or thousands (an agency's initial load) go
 * through the same path, in chunks, with a constant number of Redis round trips
 * per chunk. Records in one chunk can match each other (an in-memory index of
 * the chunk sits beside the Redis candidates).
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Extension, Patient, Task } from 'fhir/r4.js';
import { changeRecord, outboxEntryArgs, type ChangeCause } from '../../shared/audit/outbox.js';
import type { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { failpoint } from '../../shared/runtime/failpoints.js';
import { yieldToIo } from '../../shared/runtime/yield-to-io.js';
import { contentHash } from '../../shared/store/content-hash.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { Extensions, IdentifierSystems } from '../../shared/fhir/systems.js';
import { blockingKeys } from './domain/blocking.js';
import { recordTerms } from './domain/search-terms.js';
import { checksPersonChis, compare, decide, MatchIndex, matchProbability, personChiOf, type Candidate, type Decision, type PersonChi } from './domain/engine.js';
import { toFeatures, type MatchFeatures } from './domain/features.js';
import type { ParsedRegistration } from './domain/from-patient.js';
import { pairKey, type PersonLink } from './domain/links.js';
import type { MatchModel } from './domain/model.js';
import { planRecluster, type ReclusterMove, type ReclusterPlan, type ReclusterQuestion } from './domain/clustering.js';
import type { ModelSource } from './model-versions.js';
import { outsideRejectedPersons, planRegistration, planUnchanged, relabelJoined, withoutRejected, type PossibleDuplicate, type RegistrationPlan } from './domain/registration-plan.js';
import { buildReviewTask, cancelledTask, duplicatePersons, MATCH_REVIEW_CODE, reviewPair, reviewStillStands } from './domain/review-task.js';
import { isOperationOutcomeError, preconditionFailed, type OperationOutcomeError } from '../../shared/fhir/outcome.js';
import { conditionHolds, conditionText, type VersionCondition } from '../../shared/store/version.js';
import type { PartnershipSnapshot } from './partnership.js';
import { newPersonId } from './persons.js';
import { stringifyKeepingSpellings } from '../../shared/fhir/number-spelling.js';
import type { LinkWrite, MpiStore, RecordWrite } from './store.js';

/** 412 for a registration whose If-Match does not hold of the record's current version (`now`; undefined: not registered). */
export function staleRecord(recordId: string, now: string | undefined, ifMatch: VersionCondition): OperationOutcomeError {
  return preconditionFailed(`Patient/${recordId} is ${now ? `at version ${now}` : 'not registered'}: If-Match ${conditionText(ifMatch)} does not hold; read it again`);
}

export interface Submission {
  readonly recordId: string;
  readonly patient: Patient;
  readonly parsed: ParsedRegistration;
  /**
   * If-Match (an update): the versionId the agency last saw (or a list of them, or `*`: any). Checked under
   * the index lock; when the record is at another version (or does not exist) the
   * registration is refused with 412 before its chunk writes anything.
   */
  readonly ifMatch?: VersionCondition;
  /**
   * `contentHash(patient)` when the caller worked it out already (a transaction does, for
   * entries it finds stored); otherwise worked out only if a stored version is compared.
   */
  readonly digest?: string;
  /**
   * The stored version the caller compared this submission with, when it read the record (a
   * transaction does, for entries it can parse): its `versionKey` and `storedDigest`, or null when
   * it found none. The registrar then does not read and hash it again before the lock (under
   * the lock it reads it again, and hashes it only if the version has changed meanwhile).
   */
  readonly stored?: { readonly version: string; readonly digest: string } | null;
}

/** What a chunk registered under the index lock: its results, and its finish (sent under the lock, answered after it). */
interface WrittenChunk {
  readonly results: ChunkResult[];
  readonly stats: Record<string, number>;
  readonly featureOf: (id: string) => MatchFeatures | undefined;
  /** The chunk's finish script (counters, markers, change record, journal entry removed): sent before the lock was released. */
  readonly finished: Promise<unknown>;
}

/** A chunk with nothing changed has nothing to finish. */
const NOTHING_TO_FINISH: Promise<unknown> = Promise.resolve();

/** A registration result before the chunk's follow-ups (CHI seeding) give it its response. */
type ChunkResult = Omit<RegistrationResult, 'response' | 'seededChi'>;

export interface RegistrationResult {
  readonly recordId: string;
  /** The stored version (what `GET Patient/{id}` returns). */
  readonly stored: Patient;
  /** 201 for a new record, 200 for a new version of an existing one. */
  readonly status: 201 | 200;
  readonly plan: RegistrationPlan;
  /**
   * The review Tasks this registration opened: the grey-zone question (outcome
   * `review`), or with a link one possible-duplicate question per other Person.
   */
  readonly reviewTaskIds: readonly string[];
  /** CHI seeding: the person's CHI, returned to an agency whose record had none. */
  readonly seededChi?: string;
  /**
   * The stored Patient with the match outcome (and seeded CHI) for the response: built when asked, so a
   * bulk load answered with `Prefer: return=minimal` does not build (and keep, until the whole Bundle is
   * answered) a copy of every record it never sends.
   */
  readonly response: () => Patient;
  /** Re-submitted with the content of the stored version: nothing was written or re-matched. */
  readonly unchanged?: true;
}

export interface RegistrarDeps {
  readonly store: MpiStore;
  /** Review Tasks; an audited store (every write carries its cause). */
  readonly tasks: ResourceStore;
  /** Moves each chunk's change record on to the audit stream once it is committed. */
  readonly relay?: OutboxRelay;
  /** The matching model in use (the partnership's latest estimate, else the configured one): read once per registration call. */
  readonly models: ModelSource;
  readonly now?: () => Date;
  /** Blocks larger than this are skipped (a very common key says little and costs much). */
  readonly maxBlockSize?: number;
  /** Told after a registration changed the index (the re-clustering pass is asked for: workers/recluster.ts). */
  readonly onIndexChanged?: (cause: ChangeCause) => Promise<void>;
}

const CHUNK = 500;
/** Records prepared between two yields to I/O before the lock (~40-60 µs each: a slice of a few ms). */
const PREPARE_SLICE = 50;

/** A record's match features (and their JSON, as stored), blocking keys and search terms. */
interface PreparedRecord {
  readonly features: MatchFeatures;
  readonly featuresJson: string;
  /** The submitted Patient's JSON, when it has no id or meta (a create as sent): its stored version's is this plus both (`storedJson`). */
  readonly patientJson?: string;
  readonly keys: string[];
  readonly terms: string[];
}

/**
 * A chunk's submissions, and the per-record work done at most once per record and only
 * when needed: the content digest (only a record with a stored version is compared — a
 * first load never hashes), and the match features, blocking keys and search terms (an
 * unchanged re-submission never needs them).
 */
class PreparedChunk {
  private readonly done: (PreparedRecord | undefined)[];
  private readonly digests: (string | undefined)[];
  /** The digest of the stored version last compared, by record: read before the lock and again under it. */
  private readonly storedDigests: ({ version: string; digest: string } | undefined)[];

  constructor(readonly chunk: readonly Submission[]) {
    this.done = chunk.map(() => undefined);
    this.digests = chunk.map((s) => s.digest);
    this.storedDigests = chunk.map((s) => s.stored ?? undefined);
  }

  /** Whether the caller found record i stored with exactly the submitted content; undefined when it did not read it. */
  storedAsSubmitted(i: number): boolean | undefined {
    const stored = this.chunk[i]!.stored;
    if (stored === undefined) return undefined;
    return stored !== null && stored.digest === (this.digests[i] ??= contentHash(this.chunk[i]!.patient));
  }

  prepare(i: number): PreparedRecord {
    let work = this.done[i];
    if (!work) {
      const s = this.chunk[i]!;
      const features = toFeatures({ id: s.recordId, ...s.parsed.demographics });
      const bare = !Object.hasOwn(s.patient, 'id') && !Object.hasOwn(s.patient, 'meta');
      work = this.done[i] = {
        features,
        featuresJson: JSON.stringify(features),
        ...(bare ? { patientJson: stringifyKeepingSpellings(s.patient) } : {}), // decimals as written (number-spelling.ts)
        keys: blockingKeys(features),
        terms: recordTerms(s.patient),
      };
    }
    return work;
  }

  /** Whether record i's features, keys and terms are worked out already. */
  isPrepared(i: number): boolean {
    return this.done[i] !== undefined;
  }

  /**
   * Whether `stored` (record i's stored version) holds exactly the submitted content.
   * A version is never rewritten with other content (versionId and lastUpdated name it),
   * so the same version read again under the lock is not hashed again.
   */
  sameAsStored(i: number, stored: Patient): boolean {
    const version = versionKey(stored);
    let known = this.storedDigests[i];
    if (known?.version !== version) known = this.storedDigests[i] = { version, digest: storedDigest(stored) };
    return known.digest === (this.digests[i] ??= contentHash(this.chunk[i]!.patient));
  }
}

/**
 * What a chunk still has to write once its records are written: kept in Redis
 * with the records (MpiStore.writeRecords) until the chunk is finished.
 */
interface ChunkJournal {
  readonly id: string;
  readonly cause: ChangeCause;
  readonly newLinks: readonly LinkWrite[];
  readonly moves: readonly { readonly link: LinkWrite; readonly expected: PersonLink }[];
  /**
   * Records outside the chunk that its records joined (their candidates), linked now as the
   * re-clustering pass would link them (`relabelJoined`: a Person's first record, alone until
   * now, or an `auto` link joined by a record with its CHI): each applied only if its link is
   * still `expected`. Absent in journals written before 2026-12-06.
   */
  readonly relabels?: readonly { readonly link: LinkWrite; readonly expected: PersonLink }[];
  readonly reviews: readonly { readonly task: Task; readonly a: string; readonly b: string; readonly persons?: readonly [string, string] }[];
  /** Report counters of the chunk's decisions. */
  readonly stats: Readonly<Record<string, number>>;
  /** The chunk's records, in order (the change record names them). */
  readonly recordIds: readonly string[];
  /** When the chunk was registered: the change record's time, so a recovery writes the same record. */
  readonly recorded: string;
  /** A batch of the re-clustering pass's moves rather than registrations. */
  readonly kind?: 'recluster';
}

/** What one re-clustering pass did. */
export interface ReclusterResult {
  readonly records: number;
  readonly persons: number;
  /** Records moved to another Person. */
  readonly moved: number;
  /**
   * Records left in their Person but linked with another assurance: registration links a
   * Person's first record as `new` (level 1) and keeps it so when others join it; the pass
   * says how it is linked now (`chi`, level 4, or `auto`, level 3). Not a move.
   */
  readonly relabelled: number;
  readonly reviewsOpened: number;
  readonly reviewsWithdrawn: number;
  readonly compared: number;
  /** Planned moves, questions and withdrawals left undone because the index changed since the plan was made (the next pass sees to them). */
  readonly skipped: number;
  /** Seconds spent planning, without the index lock (registrations go on meanwhile); 0 when the caller planned (`applyRecluster`). */
  readonly planningSeconds: number;
  /** Seconds the pass held the index lock, over all its batches (what registrations may have waited). */
  readonly lockedSeconds: number;
  /** Batches it applied the plan in (each one lock hold). */
  readonly batches: number;
}

/** A re-clustering plan with what it was made from (`Registrar.planReclusterPass`). */
export interface ReclusterPass {
  readonly plan: ReclusterPlan;
  readonly model: MatchModel;
  /** Every record's features as the plan read them. */
  readonly features: ReadonlyMap<string, MatchFeatures>;
  /** Every record's link as the plan read it. */
  readonly links: ReadonlyMap<string, PersonLink>;
  readonly openTasks: readonly { readonly taskId: string; readonly recordId: string; readonly candidateId: string }[];
}

export class Registrar {
  private readonly now: () => Date;

  constructor(private readonly deps: RegistrarDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Registers records submitted by `agencyId` (already parsed and validated).
   * `partnership` is the request's snapshot, used for CHI seeding decisions.
   * `onProgress` hears how many records are registered after each chunk.
   */
  async register(
    submissions: readonly Submission[],
    requestedBy: string,
    agencyId: string,
    partnership: PartnershipSnapshot,
    options: { readonly cause: ChangeCause; readonly onProgress?: (registered: number) => void },
  ): Promise<RegistrationResult[]> {
    const results: RegistrationResult[] = [];
    // One model for the whole call: a re-estimation meanwhile applies from the next registration.
    const { model } = await this.deps.models.current();
    const batchIndex = new MatchIndex(model, { maxBlockSize: this.deps.maxBlockSize });
    const batchLinks = new Map<string, PersonLink>();
    for (let i = 0; i < submissions.length; i += CHUNK) {
      const chunk = submissions.slice(i, i + CHUNK);
      // Pure per-record work before the lock, so other loads wait only for reads, decisions and writes.
      // A record whose content digest is already stored is most likely an unchanged re-submission: its
      // features, blocking keys and search terms are worked out only if the lock's read says otherwise.
      // Records the caller read already (Submission.stored) are not read again here.
      const prepared = new PreparedChunk(chunk);
      const unread = chunk.flatMap((s, k) => (s.stored === undefined ? [k] : []));
      const versions = await this.deps.store.getRecords(unread.map((k) => chunk[k]!.recordId));
      const read = new Map(unread.map((k, n) => [k, versions[n]] as const));
      for (let k = 0; k < chunk.length; k++) {
        // In slices: the chunk holding the lock gets its replies handled in between (yieldToIo).
        if (k > 0 && k % PREPARE_SLICE === 0) await yieldToIo();
        const version = read.get(k);
        const same = read.has(k) ? version !== undefined && prepared.sameAsStored(k, version) : prepared.storedAsSubmitted(k);
        if (!same) prepared.prepare(k);
      }
      // Read, decide and write under the index lock: a concurrent load then sees this chunk's records.
      // A chunk a dead process left half-done is completed first (registerChunk), so this one reads a consistent index.
      const written = await this.deps.store.withIndexLock(() => this.registerChunk(prepared, requestedBy, batchIndex, batchLinks, options.cause, model));
      // The chunk's finish was sent before the lock went (registerChunk): its answer, and its change record, are awaited here.
      await written.finished;
      await this.deps.relay?.flushQuietly(options.cause.requestId);
      results.push(...(await this.afterChunk(written, chunk, agencyId, partnership, model)));
      options.onProgress?.(results.length);
    }
    // A lost request only delays the pass to the next change (or to one asked for on demand): never a failed registration.
    if (results.some((r) => !r.unchanged)) await this.deps.onIndexChanged?.(options.cause).catch(() => undefined);
    return results;
  }

  private async registerChunk(
    prepared: PreparedChunk,
    requestedBy: string,
    batchIndex: MatchIndex,
    batchLinks: Map<string, PersonLink>,
    cause: ChangeCause,
    model: MatchModel,
  ): Promise<WrittenChunk> {
    const { store } = this.deps;
    const allIds = prepared.chunk.map((s) => s.recordId);

    // Round trip 1: what exists already, and the candidates of the records prepared before the lock
    // (those not found stored with this content: all of a first load). Read under the lock like the
    // rest, so they include every record registered before this chunk.
    // The journals of chunks a dead process left half-done are read in the same round trip: nearly
    // always there are none; when there are, they are completed and the reads made again.
    const maxBlockSize = this.deps.maxBlockSize ?? 500;
    const preparedAt = allIds.flatMap((_, i) => (prepared.isPrepared(i) ? [i] : []));
    const readFirst = () =>
      Promise.all([store.getRecords(allIds), store.getLinks(allIds), store.candidateIds(preparedAt.map((i) => prepared.prepare(i).keys), maxBlockSize)]);
    const [firstReads, unfinished] = await Promise.all([readFirst(), store.unfinishedChunks()]);
    let reads = firstReads;
    if (unfinished.length > 0) {
      await this.completeJournals(unfinished);
      reads = await readFirst();
    }
    const [allExisting, allLinks, preparedCandidates] = reads;
    const candidatesAt = new Map(preparedAt.map((i, k) => [i, preparedCandidates[k]!] as const));
    prepared.chunk.forEach((s, i) => {
      if (s.ifMatch !== undefined && !conditionHolds(s.ifMatch, allExisting[i]?.meta?.versionId)) throw staleRecord(s.recordId, allExisting[i]?.meta?.versionId, s.ifMatch);
    });
    // An unchanged re-submission (the same content as the stored version, which is linked) changes
    // nothing: no new version, no re-match, no change record. Re-matching it would make the index
    // depend on when the record was sent again (it would now meet records that arrived after it).
    const unchanged = prepared.chunk.map((_, i) => {
      const version = allExisting[i];
      return version !== undefined && allLinks[i] !== undefined && prepared.sameAsStored(i, version);
    });
    const unchangedResults = new Map<number, ChunkResult>();
    unchanged.forEach((same, i) => {
      if (!same) return;
      const stored = allExisting[i]!;
      const recordId = allIds[i]!;
      unchangedResults.set(i, { recordId, stored, status: 200, plan: planUnchanged(allLinks[i]!), reviewTaskIds: [], unchanged: true });
    });
    const changedAt = unchanged.flatMap((same, i) => (same ? [] : [i]));
    const chunk = changedAt.map((i) => prepared.chunk[i]!);
    const features = changedAt.map((i) => prepared.prepare(i).features);
    const keys = changedAt.map((i) => prepared.prepare(i).keys);
    const terms = changedAt.map((i) => prepared.prepare(i).terms);
    const featuresJson = changedAt.map((i) => prepared.prepare(i).featuresJson);
    const patientJson = changedAt.map((i) => prepared.prepare(i).patientJson);
    const ids = chunk.map((s) => s.recordId);
    const existing = changedAt.map((i) => allExisting[i]);
    const existingLinks = changedAt.map((i) => allLinks[i]);
    const inOrder = (changed: readonly ChunkResult[]): ChunkResult[] => {
      const byIndex = new Map(changedAt.map((i, k) => [i, changed[k]!] as const));
      return allIds.map((_, i) => unchangedResults.get(i) ?? byIndex.get(i)!);
    };
    if (chunk.length === 0) return { results: inOrder([]), stats: { unchanged: unchangedResults.size }, featureOf: () => undefined, finished: NOTHING_TO_FINISH };

    // Round trip 2 (none for a first load): the stored features of changed records that have a stored
    // version, and the candidates of records prepared only now (their stored version changed meanwhile).
    const storedAt = changedAt.flatMap((i, k) => (allExisting[i] ? [k] : []));
    const lateAt = changedAt.flatMap((i, k) => (candidatesAt.has(i) ? [] : [k]));
    const [storedFeatures, lateCandidates] = await Promise.all([
      store.getFeatures(storedAt.map((k) => ids[k]!)),
      store.candidateIds(lateAt.map((k) => keys[k]!), maxBlockSize),
    ]);
    const existingFeatures: (MatchFeatures | undefined)[] = changedAt.map(() => undefined);
    storedAt.forEach((k, n) => (existingFeatures[k] = storedFeatures[n]));
    const candidateIds = changedAt.map((i) => candidatesAt.get(i) ?? []);
    lateAt.forEach((k, n) => (candidateIds[k] = lateCandidates[n]!));

    // Round trip 3: candidates' features and links — with the CHIs their Persons hold on records that are not candidates
    // too, for a chunk with a record carrying a CHI (linking such a record must not give a Person a second CHI: read in
    // the links' script, MpiStore.linksWithPersonChis; until session 24 a round trip of its own after this one) —, and
    // decisions and reviews for re-submitted records.
    const inChunk = new Set(ids);
    const outside = [...new Set(candidateIds.flat())].filter((id) => !inChunk.has(id) && !batchLinks.has(id));
    // Only a record seen before can have decisions or open reviews about it.
    const resubmittedPairs = chunk.flatMap((s, i) => (existing[i] ? (candidateIds[i] ?? []).map((c) => [s.recordId, c] as const) : []));
    const linkById = new Map<string, PersonLink>();
    const linkOf = (id: string): PersonLink | undefined => batchLinks.get(id) ?? linkById.get(id);
    const checkChis = features.some((f) => checksPersonChis(f, model));
    // Before the outside links are read, linkOf knows this load's records only: the records of each Person held besides them.
    const heldBesides = checkChis ? holdPersonChis(candidateIds, chunk, existingLinks, existingFeatures, () => undefined, linkOf).held : new Map<string, number>();
    const [outsideFeatures, outsideRead, personSizes, manualDecisions, openReviews] = await Promise.all([
      store.getFeatures(outside),
      checkChis ? store.linksWithPersonChis(outside, heldBesides) : store.getLinks(outside).then((links) => ({ links, chis: undefined })),
      Promise.all(existingLinks.map((l) => (l ? store.getMembers(l.personId).then((m) => m.size) : Promise.resolve(0)))),
      store.getDecisions(resubmittedPairs),
      store.getOpenReviews(resubmittedPairs),
    ]);
    const featureById = new Map<string, MatchFeatures>();
    outside.forEach((id, i) => {
      const f = outsideFeatures[i];
      const l = outsideRead.links[i];
      if (f) featureById.set(id, f);
      if (l) linkById.set(id, l);
    });
    const personChis =
      outsideRead.chis &&
      withReadChis(holdPersonChis(candidateIds, chunk, existingLinks, existingFeatures, (id) => featureById.get(id) ?? batchIndex.get(id), linkOf).chis, outsideRead.chis);
    const chisOf = personChis && ((personId: string) => heldChis(personChis.get(personId)));
    const now = this.now().toISOString();
    const results: ChunkResult[] = [];
    const recordWrites: RecordWrite[] = [];
    const newLinks: LinkWrite[] = [];
    const moves: { link: LinkWrite; expected: PersonLink }[] = [];
    // Where the link of a record of this chunk is written (its first link, or a move), if it is.
    const newLinkAt = new Map<string, number>();
    const moveAt = new Map<string, number>();
    const relabels = new Map<string, { link: LinkWrite; expected: PersonLink }>();
    const relabelledNow = new Set<string>();
    const reviews: { task: Task; a: string; b: string; persons?: readonly [string, string] }[] = [];
    const duplicateQuestions: (PossibleDuplicate & { taskIds: string[]; recordId: string; recordPersonId: string })[] = [];
    const stats: Record<string, number> = {};
    const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
    const review = (recordId: string, candidate: Candidate, candidatePersonId: string, possibleDuplicateOf?: { recordPersonId: string }): string => {
      const id = `mr-${randomBytes(8).toString('hex')}`;
      const task = buildReviewTask({
        recordId,
        candidateId: candidate.id,
        candidatePersonId,
        score: candidate.score,
        probability: matchProbability(candidate.score, model),
        fields: candidate.explanation.fields,
        ...(candidate.explanation.rule ? { rule: candidate.explanation.rule } : {}),
        requestedBy,
        authoredOn: now,
        ...(possibleDuplicateOf ? { possibleDuplicateOf } : {}),
      });
      const persons = possibleDuplicateOf ? ([possibleDuplicateOf.recordPersonId, candidatePersonId] as const) : undefined;
      reviews.push({ a: recordId, b: candidate.id, task: { ...task, id }, ...(persons ? { persons } : {}) });
      return id;
    };

    chunk.forEach((submission, i) => {
      const f = features[i]!;
      // The stored candidates (a plain loop: ~17 per record at 100k, for every record of a load), then this load's own.
      const found: MatchFeatures[] = [];
      for (const id of candidateIds[i] ?? []) {
        if (id === submission.recordId || inChunk.has(id) || batchLinks.has(id)) continue;
        const cf = featureById.get(id);
        if (cf) found.push(cf);
      }
      for (const cf of batchIndex.candidates(f, keys[i])) found.push(cf);
      const candidates = outsideRejectedPersons(submission.recordId, found, manualDecisions, linkOf);
      const decision: Decision = decide(f, candidates, model, { personOf: (id) => linkOf(id)?.personId, ...(chisOf ? { chisOf } : {}) });
      const currentLink = existingLinks[i];
      const plan = planRegistration({
        recordId: submission.recordId,
        currentLink,
        currentPersonSize: personSizes[i] ?? 0,
        decision: { ...decision, reviewCandidates: withoutRejected(submission.recordId, decision.reviewCandidates, manualDecisions) },
        linkOf,
        manualDecisions,
        openReviews,
        newPersonId,
      });

      const previous = existing[i];
      const version = previous ? Number(previous.meta?.versionId ?? '0') + 1 : 1;
      const meta = { ...submission.patient.meta, versionId: String(version), lastUpdated: now };
      const stored: Patient = { ...submission.patient, id: submission.recordId, meta };
      const submittedJson = patientJson[i];
      const oldFeatures = existingFeatures[i];
      recordWrites.push({
        patient: stored,
        ...(submittedJson !== undefined ? { patientJson: storedJson(submittedJson, submission.recordId, meta) } : {}),
        previous,
        features: f,
        featuresJson: featuresJson[i],
        blockingKeys: keys[i]!,
        previousBlockingKeys: oldFeatures ? blockingKeys(oldFeatures) : [],
        terms: terms[i]!,
      });
      const link: LinkWrite = {
        recordId: submission.recordId,
        personId: plan.personId,
        assurance: plan.assurance,
        how: plan.how,
        fromPersonId: currentLink?.personId,
      };
      if (!currentLink) newLinkAt.set(submission.recordId, newLinks.push(link) - 1);
      else if (plan.moves) moveAt.set(submission.recordId, moves.push({ link, expected: currentLink }) - 1);
      batchLinks.set(submission.recordId, { personId: plan.personId, assurance: plan.assurance, how: plan.how });
      batchIndex.add(f, keys[i]);
      if (personChis) joinPersonChis(personChis, f, plan.personId, currentLink?.personId);
      // The record joined a Person through its candidate: a candidate alone until now (the Person's first record), or
      // linked probabilistically and joined by a record with its CHI, is linked as the re-clustering pass would link it.
      const candidateId = plan.outcome === 'linked' ? plan.candidate?.id : undefined;
      const current = candidateId !== undefined ? linkOf(candidateId) : undefined;
      if (candidateId !== undefined && current) {
        const candidateFeatures = featureById.get(candidateId) ?? batchIndex.get(candidateId);
        const label = relabelJoined(current, plan.personId, candidateFeatures, f);
        if (label) {
          const relabelled: PersonLink = { ...current, ...label };
          const pending = newLinkAt.get(candidateId);
          const moving = moveAt.get(candidateId);
          // Registered in this chunk: its link is not written yet, so it is written relabelled.
          if (pending !== undefined) newLinks[pending] = { ...newLinks[pending]!, ...label };
          else if (moving !== undefined) moves[moving] = { ...moves[moving]!, link: { ...moves[moving]!.link, ...label } };
          else {
            const expected = relabels.get(candidateId)?.expected ?? current;
            relabels.set(candidateId, { link: { recordId: candidateId, ...relabelled, fromPersonId: current.personId }, expected });
          }
          if (!relabelledNow.has(candidateId)) count('relabelled');
          relabelledNow.add(candidateId);
          if (batchLinks.has(candidateId)) batchLinks.set(candidateId, relabelled);
          else linkById.set(candidateId, relabelled);
        }
      }

      const taskIds: string[] = [];
      if (plan.openReview) taskIds.push(review(submission.recordId, plan.openReview.candidate, plan.openReview.candidatePersonId));
      for (const duplicate of plan.possibleDuplicates ?? []) {
        if (duplicate.openReview) duplicateQuestions.push({ taskIds, recordId: submission.recordId, recordPersonId: plan.personId, ...duplicate });
      }
      count(plan.outcome === 'linked' ? (plan.keptManual ? 'kept-manual' : `linked-${plan.how}`) : plan.outcome);
      results.push({ recordId: submission.recordId, stored, status: previous ? 200 : 201, plan, reviewTaskIds: taskIds });
    });

    // A merge question is about two Persons: asked once per pair of Persons, whichever records
    // bridge them (now or in an earlier load), and not again once a reviewer kept them apart.
    const personPairs = duplicateQuestions.map((q) => [q.recordPersonId, q.candidatePersonId] as const);
    const [askedPersons, decidedPersons] = await Promise.all([store.getOpenReviews(personPairs), store.getDecisions(personPairs)]);
    const askedNow = new Set<string>();
    for (const q of duplicateQuestions) {
      const key = pairKey(q.recordPersonId, q.candidatePersonId);
      if (askedPersons.has(key) || decidedPersons.has(key) || askedNow.has(key)) continue;
      askedNow.add(key);
      q.taskIds.push(review(q.recordId, q.candidate, q.candidatePersonId, { recordPersonId: q.recordPersonId }));
      count('review-duplicate');
    }

    // Writes. The records (with blocking entries), the first links of new records and the journal of
    // everything else the chunk writes go in one script; then moves and Tasks, each safe to apply
    // again; then the markers, the counters and the chunk's change record with the journal entry's
    // removal. A process that dies part-way leaves the journal, and the next registration (or
    // start-up) completes the chunk from it, exactly as planned: no record without its Person, no
    // marker without its Task.
    const journal: ChunkJournal = {
      id: `chunk-${randomBytes(8).toString('hex')}`,
      cause,
      newLinks,
      moves,
      ...(relabels.size ? { relabels: [...relabels.values()] } : {}),
      reviews,
      stats,
      recordIds: ids,
      recorded: now,
    };
    // The first links of new records go in the records' script (a record is never without its Person), and so do
    // the relabels (each only if the link is still the one read): a round trip fewer under the lock.
    const writing = store.writeRecords(recordWrites, { id: journal.id, json: JSON.stringify(journal) }, newLinks, journal.relabels);
    // Built while Redis runs the records' script rather than after it: the lock is held that much less (it names every record).
    const changeRecordFields = chunkChangeRecord(journal);
    const linkedMeanwhile = await writing;
    failpoint('mpi.chunk.after-records');
    // The finish is sent, not awaited: the index lock is handed over right after it on the same connection, so Redis
    // runs the finish before anything the next holder sends (a round trip less under the lock); register() awaits it.
    const { finished } = await this.applyChunk(journal, { linkedMeanwhile, changeRecordFields });
    // Outside the journal: withdrawing stale questions is a follow-up a later re-submission redoes (after the finish:
    // it may close the markers the finish sets).
    const resubmitted = results.some((r) => r.status === 200);
    if (resubmitted) await finished;
    const superseded = resubmitted ? await this.supersedeStaleReviews(results, features, now, cause, model) : 0;
    const followUps: Record<string, number> = {};
    if (superseded) followUps['review-superseded'] = superseded;
    if (unchangedResults.size) followUps.unchanged = unchangedResults.size;
    return { results: inOrder(results), stats: followUps, featureOf: (id: string) => featureById.get(id) ?? batchIndex.get(id), finished };
  }

  /**
   * Applies a chunk's journal: links, relabels, moves and review Tasks, then its open-review
   * markers, counters and change record (one script). Every step is safe to apply
   * again (a link already there is kept, a relabel applies only to the link it was planned
   * from, a Task already created is not created twice, the finish happens once), so a
   * recovery can run it whatever the dead process had done. `written`: what the records'
   * script of this process just did — it wrote the first links (`linkedMeanwhile`: those it
   * found taken) and the relabels; `changeRecordFields` is `chunkChangeRecord(journal)`, built
   * already. Without it (a recovery, a re-clustering batch) the links and relabels are written
   * again (the taken links are moved).
   */
  private async completeChunk(
    journal: ChunkJournal,
    written?: { readonly linkedMeanwhile: readonly LinkWrite[]; readonly changeRecordFields: string[] },
  ): Promise<void> {
    await (await this.applyChunk(journal, written)).finished;
  }

  /**
   * `completeChunk` up to sending the finish: resolves once the finish script is sent (on the connection the index
   * lock is released on, so Redis runs it before the release), with its answer still to come (`finished`; a failure
   * there leaves the journal, and the next holder of the lock completes the chunk, as after a crash).
   */
  private async applyChunk(
    journal: ChunkJournal,
    written?: { readonly linkedMeanwhile: readonly LinkWrite[]; readonly changeRecordFields: string[] },
  ): Promise<{ readonly finished: Promise<boolean> }> {
    const { store } = this.deps;
    const linkedMeanwhile = written?.linkedMeanwhile ?? (await store.writeNewLinks(journal.newLinks));
    // Moves touch different records, and the Tasks none of them: sent together, not one awaited after another (a
    // chunk's steps under the index lock are round trips in a row). The markers wait for the Tasks (finishChunk).
    await Promise.all([
      // A pass's move applies only to the link it was planned from (a registration since then wins, also after a crash).
      ...journal.moves.map((m) => (journal.kind === 'recluster' ? store.moveLink(m.link, m.expected) : this.moveWithRetry(m.link, m.expected))),
      ...linkedMeanwhile.map((link) => this.moveWithRetry(link, undefined)),
      // Only if the link is still the one read: a reviewer who placed the record meanwhile wins (and a recovery's second try does nothing).
      ...(written ? [] : [store.relabelLinks(journal.relabels ?? [])]),
      ...journal.reviews.map((r) => this.createTaskOnce(r.task, journal.cause)),
    ]);
    failpoint('mpi.chunk.before-finish');
    const finished = store.finishChunk(
      journal.id,
      journal.stats,
      written?.changeRecordFields ?? chunkChangeRecord(journal),
      journal.reviews.flatMap((r) => [{ a: r.a, b: r.b, taskId: r.task.id! }, ...(r.persons ? [{ a: r.persons[0], b: r.persons[1], taskId: r.task.id! }] : [])]),
    );
    // Awaited by the caller, after the lock is released: a failure meanwhile must not count as unhandled.
    finished.catch(() => undefined);
    return { finished };
  }

  /**
   * Completes the chunks a dead process left unfinished (their records are
   * written; links, Tasks or markers may not be). Call holding the index lock.
   * Returns how many were completed.
   */
  private async completeUnfinished(): Promise<number> {
    return this.completeJournals(await this.deps.store.unfinishedChunks());
  }

  /** Completes the chunks of these journal entries (`MpiStore.unfinishedChunks`). Call holding the index lock. */
  private async completeJournals(unfinished: readonly string[]): Promise<number> {
    for (const json of unfinished) await this.completeChunk(JSON.parse(json) as ChunkJournal);
    return unfinished.length;
  }

  /**
   * The re-clustering pass (domain/clustering.ts): works the Persons out again from every
   * record and the reviewers' decisions, moves the records whose Person that changes (never
   * one a reviewer placed), opens the review questions the new Persons raise and withdraws
   * the open ones they make stale. Its result does not depend on the order the records
   * arrived in, and a second pass changes nothing.
   *
   * The plan is worked out *without* the index lock (it reads and compares every record:
   * ~16 s at 100,000 records on a quiet machine, during which registrations used to wait);
   * then it is applied batch by batch, each batch under the lock and only where what it was
   * planned from still holds — a registration or a reviewer that changed a record meanwhile
   * wins, and the next pass (which that registration asked for) takes it into account.
   */
  async recluster(requestedBy: string, cause: ChangeCause): Promise<ReclusterResult> {
    const started = performance.now();
    const pass = await this.planReclusterPass();
    const planningSeconds = round3((performance.now() - started) / 1000);
    return { ...(await this.applyRecluster(pass, requestedBy, cause)), planningSeconds };
  }

  /** The pass's plan, from a snapshot of the index read without the lock. */
  async planReclusterPass(): Promise<ReclusterPass> {
    const { store } = this.deps;
    const { model } = await this.deps.models.current();
    const [features, links, decisions, openReviews] = await Promise.all([store.allFeatures(), store.allLinks(), store.allDecisions(), store.allOpenReviews()]);
    // An open merge question has two entries (its record pair and its Person pair): the record pair names it.
    const openTasks = [...openReviews].flatMap(([key, taskId]) => {
      const [a, b] = key.split('|') as [string, string];
      return a.startsWith('per-') && b.startsWith('per-') ? [] : [{ taskId, recordId: a, candidateId: b }];
    });
    const plan = planRecluster({ records: features, links, decisions, openTasks, model, maxBlockSize: this.deps.maxBlockSize, newPersonId });
    return { plan, model, features: new Map(features.map((f) => [f.id, f] as const)), links, openTasks };
  }

  /**
   * Applies a pass's plan in batches of CHUNK moves, each under the index lock, checking
   * first that what it was planned from still holds: a record moves only if its link and its
   * features are as the plan read them and its new Person was not merged away; a question is
   * opened only if its two records are in the Persons the plan put them in, not decided and
   * not already asked; an open question is withdrawn only if its records are where the plan
   * put them. What fails a check is left (`skipped`) for the next pass. Moves go through chunk
   * journals like a registration's, applied only if the link is still the one planned from —
   * also when a recovery completes a journal after a crash.
   */
  async applyRecluster(pass: ReclusterPass, requestedBy: string, cause: ChangeCause): Promise<ReclusterResult> {
    const { store } = this.deps;
    const { plan, model, features: byId } = pass;
    const now = this.now().toISOString();
    const plannedPerson = new Map([...pass.links].map(([id, link]) => [id, link.personId] as const));
    for (const m of plan.moves) plannedPerson.set(m.recordId, m.personId);
    let moved = 0;
    let relabelled = 0;
    let skipped = 0;
    let opened = 0;
    let withdrawn = 0;
    let lockedMs = 0;
    const batches = Math.max(1, Math.ceil(plan.moves.length / CHUNK));
    for (let k = 0; k < batches; k++) {
      const last = k === batches - 1;
      const planned = plan.moves.slice(k * CHUNK, (k + 1) * CHUNK);
      await store.withIndexLock(async () => {
        const locked = performance.now();
        try {
          if (k === 0) await this.completeUnfinished();
          const moves = await this.stillPlanned(planned, byId);
          skipped += planned.length - moves.length;
          let reviews: ChunkJournal['reviews'] = [];
          if (last) {
            // Where the plan put the records, as far as the index agrees (after this batch's moves).
            const ids = [...new Set([...plan.questions.flatMap((q) => [q.recordId, q.candidateId]), ...pass.openTasks.flatMap((t) => [t.recordId, t.candidateId])])];
            const linksNow = await store.getLinks(ids);
            const current = new Map(ids.map((id, i) => [id, linksNow[i]?.personId] as const));
            for (const m of moves) current.set(m.recordId, m.personId);
            const asPlanned = (id: string) => current.get(id) !== undefined && current.get(id) === plannedPerson.get(id);
            const stale = plan.staleTasks.filter((taskId) => {
              const t = pass.openTasks.find((o) => o.taskId === taskId);
              return t === undefined || (asPlanned(t.recordId) && asPlanned(t.candidateId));
            });
            skipped += plan.staleTasks.length - stale.length;
            withdrawn = await this.withdrawTasks(stale, 'Superseded: the re-clustering pass no longer raises this question', cause);
            const questions = await this.stillOpenQuestions(plan.questions, asPlanned);
            skipped += plan.questions.length - questions.length;
            reviews = questions.map((q) => {
              const comparison = compare(byId.get(q.recordId)!, byId.get(q.candidateId)!, model);
              const task = buildReviewTask({
                recordId: q.recordId,
                candidateId: q.candidateId,
                candidatePersonId: q.candidatePersonId,
                score: comparison.score,
                probability: matchProbability(comparison.score, model),
                fields: comparison.fields,
                ...(comparison.rule ? { rule: comparison.rule } : {}),
                // A pair that links on its own is asked about only because other records of the two contradict a join.
                ...(comparison.outcome === 'link' ? { linkKeptApart: true } : {}),
                requestedBy,
                authoredOn: now,
                ...(q.merge ? { possibleDuplicateOf: { recordPersonId: q.recordPersonId } } : {}),
              });
              const persons = q.merge ? ([q.recordPersonId, q.candidatePersonId] as const) : undefined;
              return { a: q.recordId, b: q.candidateId, task: { ...task, id: `mr-${randomBytes(8).toString('hex')}` }, ...(persons ? { persons } : {}) };
            });
            opened = reviews.length;
          }
          if (moves.length === 0 && reviews.length === 0) return;
          const journal: ChunkJournal = {
            id: `chunk-${randomBytes(8).toString('hex')}`,
            cause,
            newLinks: [],
            moves: moves.map((m) => ({ link: { recordId: m.recordId, personId: m.personId, assurance: m.assurance, how: m.how, fromPersonId: m.expected.personId }, expected: m.expected })),
            reviews,
            stats: { 'recluster-moved': moves.length, ...(reviews.length ? { 'recluster-review': reviews.length } : {}) },
            recordIds: [...moves.map((m) => m.recordId), ...reviews.map((r) => r.a)],
            recorded: now,
            kind: 'recluster',
          };
          await store.writeRecords([], { id: journal.id, json: JSON.stringify(journal) });
          await this.completeChunk(journal);
          const changedPerson = moves.filter((m) => m.personId !== m.expected.personId).length;
          moved += changedPerson;
          relabelled += moves.length - changedPerson;
        } finally {
          lockedMs += performance.now() - locked;
        }
      });
    }
    await this.deps.relay?.flushQuietly(cause.requestId);
    return {
      records: byId.size,
      persons: plan.persons,
      moved,
      relabelled,
      reviewsOpened: opened,
      reviewsWithdrawn: withdrawn,
      compared: plan.compared,
      skipped,
      planningSeconds: 0,
      lockedSeconds: round3(lockedMs / 1000),
      batches,
    };
  }

  /** The planned moves whose record is as the plan read it (link and features) and whose new Person was not merged away. Call holding the lock. */
  private async stillPlanned(moves: readonly ReclusterMove[], planned: ReadonlyMap<string, MatchFeatures>): Promise<ReclusterMove[]> {
    if (moves.length === 0) return [];
    const { store } = this.deps;
    const ids = moves.map((m) => m.recordId);
    const targets = [...new Set(moves.map((m) => m.personId))];
    const [links, features, replaced] = await Promise.all([
      store.getLinks(ids),
      store.getFeatures(ids),
      Promise.all(targets.map((p) => store.getReplacedBy(p))),
    ]);
    const merged = new Set(targets.filter((_, i) => replaced[i] !== undefined));
    return moves.filter((m, i) => {
      const link = links[i];
      return (
        link !== undefined &&
        link.personId === m.expected.personId &&
        link.assurance === m.expected.assurance &&
        link.how === m.expected.how &&
        JSON.stringify(features[i]) === JSON.stringify(planned.get(m.recordId)) &&
        !merged.has(m.personId)
      );
    });
  }

  /** The planned questions still worth asking: records where the plan put them, not decided, not already asked. Call holding the lock. */
  private async stillOpenQuestions(questions: readonly ReclusterQuestion[], asPlanned: (recordId: string) => boolean): Promise<ReclusterQuestion[]> {
    if (questions.length === 0) return [];
    const pairs = questions.map((q) => [q.recordId, q.candidateId] as const);
    const [decided, open] = await Promise.all([this.deps.store.getDecisions(pairs), this.deps.store.getOpenReviews(pairs)]);
    return questions.filter((q) => {
      const key = pairKey(q.recordId, q.candidateId);
      return !decided.has(key) && !open.has(key) && asPlanned(q.recordId) && asPlanned(q.candidateId);
    });
  }

  /** Cancels open review Tasks (a reviewer's answer given meanwhile stands) and clears their open-review markers. */
  private async withdrawTasks(taskIds: readonly string[], reason: string, cause: ChangeCause): Promise<number> {
    if (taskIds.length === 0) return 0;
    const now = this.now().toISOString();
    const tasks = await this.deps.tasks.readMany('Task', taskIds);
    const done = await Promise.all(tasks.map((task) => (task ? this.withdrawTask(task, reason, now, cause) : Promise.resolve(false))));
    const withdrawn = done.filter(Boolean).length;
    if (withdrawn) await this.deps.store.incrementStats({ 'review-superseded': withdrawn });
    return withdrawn;
  }

  /**
   * Cancels one review Task if it is still open and clears its open-review markers. False when it was
   * not cancelled: no longer open, or a reviewer's answer landed meanwhile (412) — that answer stands.
   */
  private async withdrawTask(task: Task, reason: string, now: string, cause: ChangeCause): Promise<boolean> {
    let cancelled = false;
    if (task.status === 'requested') {
      try {
        await this.deps.tasks.update(cancelledTask(task, reason, now), { ifMatch: task.meta?.versionId, allowCreate: false, cause, relayNow: false });
        cancelled = true;
      } catch (err) {
        if (isOperationOutcomeError(err) && err.status === 412) return false;
        throw err;
      }
    }
    const pair = reviewPair(task);
    if (pair) await this.deps.store.closeReview(pair.recordId, pair.candidateId);
    const persons = duplicatePersons(task);
    if (persons) await this.deps.store.closeReview(...persons);
    return cancelled;
  }

  /** Completes unfinished chunks under the index lock (at start-up: a crash may have left one). */
  async recover(): Promise<number> {
    const completed = await this.deps.store.withIndexLock(() => this.completeUnfinished());
    if (completed) await this.deps.relay?.flushQuietly();
    return completed;
  }

  private async createTaskOnce(task: Task, cause: ChangeCause): Promise<void> {
    try {
      // Under the index lock: relayed once the chunk is done (register() flushes after the lock).
      await this.deps.tasks.create(task, { cause, relayNow: false });
    } catch (err) {
      // Created before the process died: the journal's id is the Task's id.
      if (isOperationOutcomeError(err) && err.status === 409) return;
      throw err;
    }
  }

  /**
   * After the lock: CHI seeding (reads only) and the report counters (commutative
   * increments) need not hold up other loads.
   */
  private async afterChunk(
    written: WrittenChunk,
    chunk: readonly Submission[],
    agencyId: string,
    partnership: PartnershipSnapshot,
    model: MatchModel,
  ): Promise<RegistrationResult[]> {
    // CHI seeding: a record without CHI linked with confidence to a person whose record has one.
    const seeded = await this.seedChis(written.results, chunk, agencyId, partnership, written.featureOf);
    const stats = { ...written.stats };
    const final = written.results.map((r, i) => {
      const seededChi = seeded[i];
      // An unchanged re-submission gets its CHI back again, but it was seeded (and counted) before.
      if (seededChi && !r.unchanged) stats['chi-seeded'] = (stats['chi-seeded'] ?? 0) + 1;
      return { ...r, seededChi, response: () => withOutcome(r.stored, r.plan, r.reviewTaskIds, seededChi, model, r.unchanged) };
    });
    await this.deps.store.incrementStats(stats);
    return final;
  }

  /**
   * Open reviews a re-submission has made stale are cancelled, so reviewers are
   * never asked a stale question:
   * - those the re-submitted record raised, when its new version no longer
   *   raises them (it now links, is nobody's match, or questions another record);
   * - those where it is the *candidate*, when its new version no longer resembles
   *   the record that raised them (below the review threshold) or now sits in
   *   that record's Person.
   * A Task a reviewer resolved meanwhile (412) is left as they decided it.
   * `features[i]` are `results[i]`'s new match features.
   */
  private async supersedeStaleReviews(
    results: readonly ChunkResult[],
    features: readonly MatchFeatures[],
    now: string,
    cause: ChangeCause,
    model: MatchModel,
  ): Promise<number> {
    const resubmitted = results.flatMap((r, i) => (r.status === 200 && !r.unchanged ? [{ r, features: features[i]! }] : []));
    if (resubmitted.length === 0) return 0;
    const openAbout = (param: 'focus' | 'candidate', recordId: string) =>
      this.deps.tasks.search('Task', { [param]: `Patient/${recordId}`, code: MATCH_REVIEW_CODE, status: 'requested', _count: '100' }, { total: false });
    const [asFocus, asCandidate] = await Promise.all([
      Promise.all(resubmitted.map(({ r }) => openAbout('focus', r.recordId))),
      Promise.all(resubmitted.map(({ r }) => openAbout('candidate', r.recordId))),
    ]);
    const staleAsFocus = resubmitted.flatMap(({ r }, i) =>
      (asFocus[i]?.resources ?? []).filter(
        (task) => !reviewStillStands(task, r.plan.outcome, r.plan.candidate?.id, (r.plan.possibleDuplicates ?? []).map((d) => d.candidate.id)),
      ),
    );
    const staleAsCandidate = await this.staleForCandidates(
      resubmitted.map(({ r, features: f }, i) => ({ result: r, features: f, tasks: asCandidate[i]?.resources ?? [] })),
      model,
    );
    const reason = (task: Task) =>
      staleAsFocus.includes(task)
        ? 'Superseded: the record was re-submitted and re-matched'
        : 'Superseded: the candidate record was re-submitted and no longer raises this question';
    // Searched with status=requested, so each is still open as read: withdrawTask cancels it unless a reviewer's answer landed since.
    const cancelled = await Promise.all([...staleAsFocus, ...staleAsCandidate].map((task) => this.withdrawTask(task, reason(task), now, cause)));
    return cancelled.filter(Boolean).length;
  }

  /** Open reviews naming a re-submitted record as their candidate that its new version no longer supports. */
  private async staleForCandidates(
    resubmitted: readonly { result: ChunkResult; features: MatchFeatures; tasks: readonly Task[] }[],
    model: MatchModel,
  ): Promise<Task[]> {
    const asked = resubmitted.flatMap(({ result, features, tasks }) =>
      tasks.flatMap((task) => {
        const pair = reviewPair(task);
        return pair ? [{ task, features, personId: result.plan.personId, recordId: pair.recordId }] : [];
      }),
    );
    if (asked.length === 0) return [];
    const ids = asked.map((a) => a.recordId);
    const [raisedBy, links] = await Promise.all([this.deps.store.getFeatures(ids), this.deps.store.getLinks(ids)]);
    return asked.flatMap((a, i) => {
      const record = raisedBy[i];
      const together = links[i]?.personId === a.personId;
      const stillAlike = record !== undefined && compare(record, a.features, model).outcome !== 'new';
      return together || !stillAlike ? [a.task] : [];
    });
  }

  /**
   * CHI seeding (MI-L2): a record without CHI that links to a Person one of
   * whose records holds a CHI gets the CHI back — where the ISP lets
   * demographics flow from the CHI holder's agency to the submitting agency.
   * The matched candidate usually holds it (no extra reads); otherwise the
   * Person's other records are read (after this chunk's links are written).
   */
  private async seedChis(
    results: readonly ChunkResult[],
    chunk: readonly Submission[],
    agencyId: string,
    partnership: PartnershipSnapshot,
    featuresOf: (id: string) => MatchFeatures | undefined,
  ): Promise<(string | undefined)[]> {
    const shareable = (f: MatchFeatures | undefined) =>
      f?.chi && f.ag && partnership.demographicsMayFlow(f.ag, agencyId).allowed ? f.chi : undefined;
    const wanted = results.map((r, i) => !chunk[i]!.parsed.chi && r.plan.outcome === 'linked');
    const fromCandidate = results.map((r, i) => (wanted[i] && r.plan.candidate ? shareable(featuresOf(r.plan.candidate.id)) : undefined));
    const persons = [...new Set(results.flatMap((r, i) => (wanted[i] && !fromCandidate[i] ? [r.plan.personId] : [])))];
    if (persons.length === 0) return fromCandidate;
    const members = await Promise.all(persons.map((p) => this.deps.store.getMembers(p)));
    const memberIds = [...new Set(members.flatMap((m) => [...m.keys()]))];
    const memberFeatures = await this.deps.store.getFeatures(memberIds);
    const featureById = new Map(memberIds.map((id, k) => [id, memberFeatures[k]] as const));
    const chiOfPerson = new Map(persons.map((p, k) => [p, [...members[k]!.keys()].map((id) => shareable(featureById.get(id))).find(Boolean)] as const));
    return results.map((r, i) => fromCandidate[i] ?? (wanted[i] ? chiOfPerson.get(r.plan.personId) : undefined));
  }

  private async moveWithRetry(link: LinkWrite, expected: PersonLink | undefined): Promise<void> {
    let current: PersonLink | undefined = expected;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await this.deps.store.moveLink(link, current)) return;
      [current] = await this.deps.store.getLinks([link.recordId]);
      if (current?.how === 'manual') return; // a reviewer got there first; their decision stands
    }
    throw new Error(`could not move ${link.recordId} to ${link.personId}: its link kept changing`);
  }
}

/**
 * A chunk's change record, as outbox fields: built from the journal when the chunk is
 * finished, so a recovery builds the same record (and the journal carries a list of ids,
 * not the record: the record names every record, so it is most of a chunk's audit bytes).
 */
function chunkChangeRecord(journal: ChunkJournal): string[] {
  const tasksOf = new Map<string, string[]>();
  for (const r of journal.reviews) tasksOf.set(r.a, [...(tasksOf.get(r.a) ?? []), r.task.id!]);
  return outboxEntryArgs(
    changeRecord({ ...journal.cause, service: 'mpi' }, {
      subtype: journal.kind === 'recluster' ? 'recluster' : 'register',
      action: journal.kind === 'recluster' ? 'U' : 'C',
      dataCategory: 'demographics',
      purpose: 'identity-matching',
      outcomeDescription: `${journal.kind === 'recluster' ? 'Re-clustered' : 'Registered'} ${journal.recordIds.length} record(s): ${Object.entries(journal.stats).map(([k, n]) => `${k} ${n}`).join(', ')}`,
      entities: [
        ...journal.recordIds.flatMap((id) => [
          // Only the references: the exchange's own record gives each record's outcome, and a bulk load writes these for every record.
          { reference: `Patient/${id}`, role: 'subject' as const },
          ...(tasksOf.get(id) ?? []).map((taskId) => ({ reference: `Task/${taskId}`, role: 'domain-resource' as const, description: 'match review queued' })),
        ]),
        // Records outside the chunk whose link changed: candidates the chunk's records joined (relabelJoined).
        ...(journal.relabels ?? []).map((r) => ({
          reference: `Patient/${r.link.recordId}`,
          role: 'subject' as const,
          description: `relabelled ${r.link.assurance} (${r.link.how}): its Person was joined`,
        })),
      ],
    }, 'mpi-index'),
    new Date(journal.recorded),
  );
}

/**
 * `JSON.stringify({ ...submitted, id, meta })` for a submitted Patient without id or meta, from its
 * JSON made before the index lock: the spread puts both after its own elements, so the stored
 * JSON is the submitted one with them added at its end (the same bytes, without serialising the
 * record again under the lock).
 */
export function storedJson(submittedJson: string, id: string, meta: NonNullable<Patient['meta']>): string {
  const open = submittedJson.slice(0, -1);
  return `${open}${open === '{' ? '' : ','}"id":${JSON.stringify(id)},"meta":${JSON.stringify(meta)}}`;
}

/** What names a stored version (`Submission.stored`): a version is never rewritten with other content. */
export function versionKey(stored: Patient): string {
  return `${stored.meta?.versionId ?? ''}|${stored.meta?.lastUpdated ?? ''}`;
}

/**
 * The content digest of a record's stored version: that of the submission it was made
 * from (`contentHash` of the submitted Patient, which has no id or meta), so an unchanged
 * re-submission is recognised by comparing digests — worked out from the stored record
 * rather than kept beside it (no Redis memory per record).
 */
export function storedDigest(stored: Patient): string {
  const { id: _id, ...content } = stored;
  return contentHash(content);
}

/**
 * By Person, its records known to a chunk's decisions: record id → the CHI it holds, or null for none
 * (`holdPersonChis`, `withReadChis`).
 */
type PersonChis = Map<string, Map<string, PersonChi | null>>;

function* heldChis(members: ReadonlyMap<string, PersonChi | null> | undefined): Generator<PersonChi> {
  for (const chi of members?.values() ?? []) if (chi) yield chi;
}

/**
 * The records of the Persons a chunk's records may be linked to (those of their candidates, as `linkOf` links them) that
 * this process holds — the chunk's re-submitted records, the candidates, this load's earlier records — by Person, each
 * with the CHI it holds (`featureOf`), and how many of each Person's records that is.
 */
function holdPersonChis(
  candidateIds: readonly (readonly string[])[],
  chunk: readonly Submission[],
  existingLinks: readonly (PersonLink | undefined)[],
  existingFeatures: readonly (MatchFeatures | undefined)[],
  featureOf: (id: string) => MatchFeatures | undefined,
  linkOf: (id: string) => PersonLink | undefined,
): { chis: PersonChis; held: Map<string, number> } {
  const chis: PersonChis = new Map();
  const held = new Map<string, number>();
  const hold = (id: string, personId: string, f: MatchFeatures | undefined) => {
    const members = membersOf(chis, personId);
    if (members.has(id)) return;
    held.set(personId, (held.get(personId) ?? 0) + 1);
    members.set(id, (f && personChiOf(f)) ?? null);
  };
  chunk.forEach((s, i) => {
    const link = existingLinks[i];
    if (link) hold(s.recordId, link.personId, existingFeatures[i]);
  });
  for (const ids of candidateIds) {
    for (const id of ids) {
      const link = linkOf(id);
      if (link) hold(id, link.personId, featureOf(id));
    }
  }
  return { chis, held };
}

/**
 * The CHIs held by the records of the Persons a chunk's records may be linked to, by Person and record: the records
 * this process holds (`held`: holdPersonChis) and, for a Person with more records than those, every record of it with a
 * CHI (`read`: MpiStore.linksWithPersonChis). The chunk's decisions then keep it up to date (`joinPersonChis`).
 */
function withReadChis(held: PersonChis, read: ReadonlyMap<string, readonly PersonChi[]>): PersonChis {
  for (const [personId, members] of held) {
    for (const r of read.get(personId) ?? []) if (!members.has(r.id)) members.set(r.id, r);
  }
  return held;
}

/** A Person's records known so far, made empty on first ask. */
function membersOf(chis: PersonChis, personId: string): Map<string, PersonChi | null> {
  let members = chis.get(personId);
  if (!members) chis.set(personId, (members = new Map<string, PersonChi | null>()));
  return members;
}

/** A chunk's record linked to `personId` (leaving `fromPersonId`, if it moved): its CHI is that Person's now. */
function joinPersonChis(chis: PersonChis, f: MatchFeatures, personId: string, fromPersonId: string | undefined): void {
  if (fromPersonId !== undefined && fromPersonId !== personId) chis.get(fromPersonId)?.delete(f.id);
  membersOf(chis, personId).set(f.id, personChiOf(f) ?? null);
}

/** Stable short hash for record ids built from awkward local identifiers. */
export function identifierHash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The stored record plus what the MPI did with it, as the registration response. */
function withOutcome(
  stored: Patient,
  plan: RegistrationPlan,
  taskIds: readonly string[],
  seededChi: string | undefined,
  model: MatchModel,
  unchanged: boolean | undefined,
): Patient {
  const outcome: Extension = {
    url: Extensions.matchOutcome,
    extension: [
      { url: 'outcome', valueCode: plan.outcome },
      // The record was sent again as it is stored: the outcome is its standing link, not a new decision.
      ...(unchanged ? [{ url: 'unchanged', valueBoolean: true }] : []),
      { url: 'person', valueReference: { reference: `Person/${plan.personId}` } },
      { url: 'assurance', valueCode: plan.assurance },
      ...(plan.candidate
        ? [
            { url: 'candidate', valueReference: { reference: `Patient/${plan.candidate.id}` } },
            { url: 'score', valueDecimal: Math.round(plan.candidate.score * 100) / 100 },
            { url: 'probability', valueDecimal: Math.round(matchProbability(plan.candidate.score, model) * 1000) / 1000 },
          ]
        : []),
      // With `linked`, a review Task is a possible-duplicate question (merge the Persons?).
      ...taskIds.map((id) => ({ url: 'review-task', valueReference: { reference: `Task/${id}` } })),
    ],
  };
  const identifier = seededChi
    ? [...(stored.identifier ?? []), { system: IdentifierSystems.chi, value: seededChi, assigner: { display: 'CHI seeded by the partnership index' } }]
    : stored.identifier;
  return { ...stored, identifier, extension: [...(stored.extension ?? []), outcome] };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
