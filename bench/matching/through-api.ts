/**
 * A labelled multi-agency data set measured the way issue 12 measured the held-out set: through
 * the API of a real hub (directory + MPI over a private Redis), the six agency systems each
 * sending their records as transaction Bundles of 500, then `$ihe-pix` asked for every record, by
 * its own agency; the Persons are read from those answers, nothing else. The open review Tasks
 * are read (`GET /fhir/Task?code=match-review&status=requested`): how many per record, and how
 * many ask about two records of one person. Used by the held-out proxy (heldout.ts) and the
 * blind set (blind.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Bundle, Parameters, Task } from 'fhir/r4.js';
import { issueAccessToken } from '../../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../../shared/auth/keys.js';
import { startHub, type RunningHub } from '../../services/hub.js';
import { benchHubEnv } from '../common/hub-env.js';
import { BenchClient } from '../common/http-client.js';
import { openQueue } from '../../shared/queue/queues.js';
import { MODEL_ESTIMATION_QUEUE } from '../../services/mpi/workers/model-estimation.js';
import { RECLUSTER_QUEUE } from '../../services/mpi/workers/recluster.js';
import type { ReviewQuestion } from './heldout-errors.js';
import { quality, round, type Quality } from './metrics.js';

const PARTNERSHIP = 'lothian-hscp';
export const BUNDLE_SIZE = 500;
const AGENCY_SCOPES = ['system/Patient.write', 'system/Patient.read'];
/** The statutory partner that estimates the model and reads the review queue (NHS board). */
const REVIEWER_SCOPES = [...AGENCY_SCOPES, 'system/Task.read', 'system/Task.review', 'system/Person.estimate'];
export const PIX_CONCURRENCY = 8;

/** What the measurement needs of a record: whose it is (agency and local id) and who it truly is. */
export interface LabelledRecord {
  readonly agencyId: string;
  readonly localId: string;
  readonly personId: string;
}

/** One agency system's transaction Bundle. */
export interface AgencyTransaction {
  readonly agencyId: string;
  readonly bundle: Bundle;
  readonly records: readonly unknown[];
}

/** A data set as the agency systems send it. */
export interface LoadableSet<R extends LabelledRecord = LabelledRecord> {
  readonly records: readonly R[];
  /** Each agency's records as transaction Bundles of `size`, in the order they are sent. */
  readonly transactions: readonly AgencyTransaction[];
  /** An agency's own patient-identifier system (for `$ihe-pix?sourceIdentifier=`). */
  readonly patientSystem: (agencyId: string) => string;
}

export interface StageFigures extends Quality {
  readonly truePairs: number;
  readonly linkedPairs: number;
  readonly truePairsLinked: number;
  readonly falseLinks: number;
  readonly missedPairs: number;
  readonly persons: number;
  readonly reviewTasks: number;
  readonly reviewShareOfRecords: number;
  readonly reviewTrueMatchShare: number;
  /** F1 if every open review Task were answered correctly (true ones linked). */
  readonly f1IfReviewsAnsweredCorrectly: number;
}

/** What the hub did by itself after the load (the `asLoaded` stage). */
export interface SettledHub {
  /** Seconds from the end of the load until no estimation or re-clustering pass was waiting or running. */
  readonly settledSeconds: number;
  /** The model in use then: its version (0: the shipped default), how it came about. */
  readonly model: { readonly version: number; readonly trigger?: string; readonly records?: number };
}

/** The figures of a stage with what they were computed from (for grouping the errors). */
export interface StageReading {
  readonly figures: StageFigures;
  readonly personOf: ReadonlyMap<string, string>;
  readonly reviews: readonly ReviewQuestion[];
}

export async function withHub<T>(overrides: NodeJS.ProcessEnv, work: (hub: RunningHub) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-heldout-'));
  const env = benchHubEnv(tmp, overrides);
  let hub: RunningHub | undefined;
  try {
    hub = await startHub({ env, freePorts: true, log: pino({ name: 'bench-matching', level: env.INFOSHARE_LOG_LEVEL }, pino.destination(2)), loadDemoPeople: false, services: ['directory', 'mpi'] });
    return await work(hub);
  } finally {
    await hub?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface HubAccess {
  readonly client: BenchClient;
  readonly tokenOf: (agency: string, scopes?: readonly string[]) => string;
  readonly reviewer: string;
}

/** An HTTP client on the hub's MPI and the access tokens of the agency systems and the reviewer. */
export async function hubAccess(hub: RunningHub): Promise<HubAccess> {
  const key = await loadTokenSigningKey(hub.config.token);
  const tokens = new Map<string, string>();
  const tokenOf = (agency: string, scopes: readonly string[] = AGENCY_SCOPES): string => {
    const k = `${agency}|${scopes.join(' ')}`;
    let t = tokens.get(k);
    if (!t) {
      t = issueAccessToken({ clientId: agency, agency, partnership: PARTNERSHIP, scopes: [...scopes] }, key, hub.config.token).token;
      tokens.set(k, t);
    }
    return t;
  };
  const client = new BenchClient(`http://${hub.config.host}:${hub.config.ports.mpi}`, PIX_CONCURRENCY);
  return { client, tokenOf, reviewer: tokenOf('nhs-lothian', REVIEWER_SCOPES) };
}

/** Each agency system sends its whole extract, Bundle after Bundle; agencies one after another. Returns seconds. */
export async function loadTransactions(access: HubAccess, set: LoadableSet): Promise<number> {
  const started = performance.now();
  for (const t of set.transactions) {
    const r = await access.client.post('/fhir', JSON.stringify(t.bundle), access.tokenOf(t.agencyId), { prefer: 'return=minimal' });
    if (r.status !== 200) throw new Error(`transaction of ${t.records.length} ${t.agencyId} records answered ${r.status}: ${r.body.slice(0, 1000)}`);
  }
  return (performance.now() - started) / 1000;
}

/** Longest the hub may take to settle by itself (the registrations' own pass waits 300 s when no model change brings it forward). */
const SETTLE_LIMIT_SECONDS = 900;

/**
 * Loads the set into a hub with its shipped settings, waits until the hub has done what it does by
 * itself — no estimation and no re-clustering pass waiting or running — and measures it.
 */
export async function measureAsLoaded(
  hub: RunningHub,
  set: LoadableSet,
  progress: (message: string) => void,
): Promise<StageReading & { readonly hub: SettledHub; readonly loadSeconds: number }> {
  const access = await hubAccess(hub);
  const site = { redis: hub.deps.redis, keys: hub.deps.keys };
  const queues = [openQueue(site, MODEL_ESTIMATION_QUEUE), openQueue(site, RECLUSTER_QUEUE)];
  try {
    const loadSeconds = await loadTransactions(access, set);
    const loaded = performance.now();
    const busy = async () => {
      for (const q of queues) {
        const c = await q.getJobCounts('delayed', 'waiting', 'active', 'prioritized');
        if (Object.values(c).some((n) => n > 0)) return true;
      }
      return false;
    };
    while (await busy()) {
      if ((performance.now() - loaded) / 1000 > SETTLE_LIMIT_SECONDS) throw new Error(`the hub was still estimating or re-clustering ${SETTLE_LIMIT_SECONDS} s after the load`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const settledSeconds = round((performance.now() - loaded) / 1000, 1);
    const report = await access.client.get('/matching/report', access.reviewer);
    if (report.status !== 200) throw new Error(`GET /matching/report answered ${report.status}: ${report.body.slice(0, 500)}`);
    const model = (JSON.parse(report.body) as { model: SettledHub['model'] }).model;
    const reading = await readStage(access, set);
    const { figures } = reading;
    progress(
      `  as loaded (shipped settings, no manual step; the hub settled ${settledSeconds} s after the load, model version ${model.version}${model.trigger ? ` (${model.trigger})` : ''}): ` +
        `F1 ${figures.f1}, review ${figures.reviewTasks} Tasks (${figures.reviewShareOfRecords} of records)`,
    );
    return {
      ...reading,
      loadSeconds,
      hub: { settledSeconds, model: { version: model.version, ...(model.trigger ? { trigger: model.trigger } : {}), ...(model.records !== undefined ? { records: model.records } : {}) } },
    };
  } finally {
    for (const q of queues) await q.close();
    access.client.close();
  }
}

/** The Persons (from `$ihe-pix` for every record) and the open review Tasks now, with their figures. */
export async function readStage(access: HubAccess, set: LoadableSet): Promise<StageReading> {
  const personOf = await personsFromPix(access, set);
  const reviews = await openReviews(access);
  return { figures: stageFigures(set.records, personOf, reviews), personOf, reviews };
}

/** The hub's id of an agency record (`<agency>.<local id>`), as `$ihe-pix` and Tasks name it. */
export function recordId(r: Pick<LabelledRecord, 'agencyId' | 'localId'>): string {
  return `${r.agencyId}.${r.localId}`;
}

/**
 * Record id → Person label, from `$ihe-pix` asked for every record by its own agency: records a
 * PIX answer names together are one Person (joined transitively, so an answer the ISP filtered
 * on one side is made up by the other side's).
 */
async function personsFromPix(access: HubAccess, set: LoadableSet): Promise<Map<string, string>> {
  const { records } = set;
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root)!;
    let node = x;
    while (node !== root) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra > rb ? ra : rb, ra > rb ? rb : ra);
  };
  for (const r of records) parent.set(recordId(r), recordId(r));
  let next = 0;
  await Promise.all(
    Array.from({ length: PIX_CONCURRENCY }, async () => {
      while (next < records.length) {
        const r = records[next++]!;
        const source = encodeURIComponent(`${set.patientSystem(r.agencyId)}|${r.localId}`);
        const answer = await access.client.get(`/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`, access.tokenOf(r.agencyId));
        if (answer.status === 404) continue;
        if (answer.status !== 200) throw new Error(`$ihe-pix for ${recordId(r)} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
        const parameters = (JSON.parse(answer.body) as Parameters).parameter ?? [];
        for (const p of parameters) {
          const ref = p.name === 'targetId' ? p.valueReference?.reference : undefined;
          if (ref?.startsWith('Patient/')) union(recordId(r), ref.slice('Patient/'.length));
        }
      }
    }),
  );
  return new Map(records.map((r) => [recordId(r), find(recordId(r))] as const));
}

/** The open match-review Tasks: the record each is about and the record it asks about. */
async function openReviews(access: HubAccess): Promise<ReviewQuestion[]> {
  const out: ReviewQuestion[] = [];
  let url: string | undefined = '/fhir/Task?code=match-review&status=requested&_count=200';
  while (url) {
    const answer = await access.client.get(url, access.reviewer);
    if (answer.status !== 200) throw new Error(`GET ${url} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
    const page = JSON.parse(answer.body) as Bundle<Task>;
    for (const e of page.entry ?? []) {
      const task = e.resource!;
      const input = (code: string) => task.input?.filter((i) => i.type.coding?.some((c) => c.code === code)) ?? [];
      const candidate = input('candidate')[0]?.valueReference?.reference;
      out.push({
        task: task.id!,
        recordId: task.focus?.reference?.replace(/^Patient\//, '') ?? '',
        candidateId: candidate?.replace(/^Patient\//, '') ?? '',
        probability: input('probability')[0]?.valueDecimal,
        evidence: input('field-evidence').map((i) => i.valueString ?? ''),
      });
    }
    const nextLink = page.link?.find((l) => l.relation === 'next')?.url;
    url = nextLink ? new URL(nextLink).pathname + new URL(nextLink).search : undefined;
  }
  return out;
}

/** Pairwise figures of a partition against the truth, with the review queue's. */
function stageFigures(records: readonly LabelledRecord[], personOf: ReadonlyMap<string, string>, reviews: readonly ReviewQuestion[]): StageFigures {
  const truthOf = new Map(records.map((r) => [recordId(r), r.personId] as const));
  const counts = pairCounts(truthOf, personOf);
  const trueReviews = reviews.filter((q) => truthOf.get(q.recordId) !== undefined && truthOf.get(q.recordId) === truthOf.get(q.candidateId));
  // Answering every true review "link" merges the two records' Persons.
  const answered = new Map(personOf);
  for (const q of trueReviews) {
    const from = answered.get(q.candidateId);
    const to = answered.get(q.recordId);
    if (from === undefined || to === undefined || from === to) continue;
    for (const [id, p] of answered) if (p === from) answered.set(id, to);
  }
  const ifAnswered = pairCounts(truthOf, answered);
  return {
    ...quality(counts.correct, counts.linked, counts.truePairs),
    truePairs: counts.truePairs,
    linkedPairs: counts.linked,
    truePairsLinked: counts.correct,
    falseLinks: counts.linked - counts.correct,
    missedPairs: counts.truePairs - counts.correct,
    persons: new Set(personOf.values()).size,
    reviewTasks: reviews.length,
    reviewShareOfRecords: round(reviews.length / records.length),
    reviewTrueMatchShare: reviews.length === 0 ? 0 : round(trueReviews.length / reviews.length),
    f1IfReviewsAnsweredCorrectly: quality(ifAnswered.correct, ifAnswered.linked, ifAnswered.truePairs).f1,
  };
}

function pairCounts(truthOf: ReadonlyMap<string, string>, personOf: ReadonlyMap<string, string>): { truePairs: number; linked: number; correct: number } {
  const pairs = (n: number) => (n * (n - 1)) / 2;
  const bySize = (key: (id: string) => string) => {
    const sizes = new Map<string, number>();
    for (const id of truthOf.keys()) sizes.set(key(id), (sizes.get(key(id)) ?? 0) + 1);
    return [...sizes.values()].reduce((s, n) => s + pairs(n), 0);
  };
  return {
    truePairs: bySize((id) => truthOf.get(id)!),
    linked: bySize((id) => personOf.get(id) ?? id),
    correct: bySize((id) => `${personOf.get(id) ?? id}|${truthOf.get(id)!}`),
  };
}
