/**
 * The held-out proxy (fixtures/heldout/multi-agency.ts) measured the way issue 12 measured the
 * held-out set: through the API of a real hub (directory + MPI over a private Redis), the six
 * agency systems each sending their records as transaction Bundles of 500, then `$ihe-pix` asked
 * for every record, by its own agency; the Persons are read from those answers, nothing else.
 *
 * Three stages, on two hubs loaded the same way:
 * - `asLoaded`: a hub with its shipped settings, left to itself once the load has ended — whatever
 *   it does without anyone asking (the first estimation once the load is over, the re-clustering
 *   pass under the new model) until no estimation or pass is waiting or running. What a
 *   partnership sees after its first load with no manual step;
 * - on a second hub whose automatic estimation and passes are off:
 *   - `arrival`: as registration left it, with the shipped default model (nothing estimated yet);
 *   - `estimated`: after `POST /fhir/$estimate-model` learnt a model from the set's own records
 *     (unlabelled) and `POST /matching/$recluster` re-decided the index with it (the manual steps).
 * At each stage the open review Tasks are read (`GET /fhir/Task?code=match-review&status=requested`):
 * how many per record, and how many ask about two records of one person.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Bundle, Parameters, Task } from 'fhir/r4.js';
import { agencyPatientSystem, proxyTransactionBundles } from '../../fixtures/heldout/fhir.js';
import { generateProxyDataset, type ProxyDataset, type ProxyRecord } from '../../fixtures/heldout/multi-agency.js';
import { issueAccessToken } from '../../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../../shared/auth/keys.js';
import { startHub, type RunningHub } from '../../services/hub.js';
import { benchHubEnv } from '../common/hub-env.js';
import { BenchClient } from '../common/http-client.js';
import { openQueue } from '../../shared/queue/queues.js';
import { MODEL_ESTIMATION_QUEUE } from '../../services/mpi/workers/model-estimation.js';
import { RECLUSTER_QUEUE } from '../../services/mpi/workers/recluster.js';
import { analyseErrors, type ErrorAnalysis, type ReviewQuestion } from './heldout-errors.js';
import { quality, round, type Quality } from './metrics.js';

const PARTNERSHIP = 'lothian-hscp';
const BUNDLE_SIZE = 500;
const AGENCY_SCOPES = ['system/Patient.write', 'system/Patient.read'];
/** The statutory partner that estimates the model and reads the review queue (NHS board). */
const REVIEWER_SCOPES = [...AGENCY_SCOPES, 'system/Task.read', 'system/Task.review', 'system/Person.estimate'];
const PIX_CONCURRENCY = 8;

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

export interface HeldoutRun {
  readonly seed: number;
  readonly records: number;
  readonly people: number;
  readonly loadRecordsPerSecond: number;
  /** With the shipped settings, after the hub settled by itself: no manual step. */
  readonly asLoaded: StageFigures & { readonly hub: SettledHub };
  readonly arrival: StageFigures;
  readonly estimated: StageFigures;
  readonly model: Record<string, unknown>;
  readonly recluster: unknown;
  readonly rates: ProxyDataset['rates'];
  readonly errors: ErrorAnalysis;
}

export async function runHeldoutProxy(seed: number, progress: (message: string) => void, people = 2000): Promise<HeldoutRun> {
  const dataset = generateProxyDataset({ seed, people });
  progress(`held-out proxy seed ${seed}: ${dataset.records.length} records of ${dataset.people.length} people; a hub (directory + MPI, private Redis) with its shipped settings`);
  const asLoaded = await withHub({}, (hub) => measureAsLoaded(hub, dataset, progress));
  // Passes and estimations run when the benchmark asks, not on a timer in the middle of a stage.
  progress(`held-out proxy seed ${seed}: a second hub, automatic estimation and passes off, for the shipped default as registered and the manual steps`);
  const manual = await withHub({ INFOSHARE_MPI_RECLUSTER_DELAY: '0', INFOSHARE_MATCH_REESTIMATE_GROWTH: '0' }, (hub) => measure(hub, dataset, progress));
  return { ...manual, asLoaded };
}

async function withHub<T>(overrides: NodeJS.ProcessEnv, work: (hub: RunningHub) => Promise<T>): Promise<T> {
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

/** Access tokens of the agency systems and the reviewer, for one hub. */
async function hubTokens(hub: RunningHub): Promise<{ tokenOf: (agency: string, scopes?: readonly string[]) => string; reviewer: string }> {
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
  return { tokenOf, reviewer: tokenOf('nhs-lothian', REVIEWER_SCOPES) };
}

/** Each agency system sends its whole extract, Bundle after Bundle; agencies one after another. Returns seconds. */
async function loadProxy(client: BenchClient, dataset: ProxyDataset, tokenOf: (agency: string) => string): Promise<number> {
  const bundles = proxyTransactionBundles(dataset.records, BUNDLE_SIZE);
  const started = performance.now();
  for (const b of bundles) {
    const r = await client.post('/fhir', JSON.stringify(b.bundle), tokenOf(b.agencyId), { prefer: 'return=minimal' });
    if (r.status !== 200) throw new Error(`transaction of ${b.records.length} ${b.agencyId} records answered ${r.status}: ${r.body.slice(0, 1000)}`);
  }
  return (performance.now() - started) / 1000;
}

/** Longest the hub may take to settle by itself (the registrations' own pass waits 300 s when no model change brings it forward). */
const SETTLE_LIMIT_SECONDS = 900;

/**
 * Loads the set into a hub with its shipped settings, waits until the hub has done what it does by
 * itself — no estimation and no re-clustering pass waiting or running — and measures it.
 */
async function measureAsLoaded(hub: RunningHub, dataset: ProxyDataset, progress: (message: string) => void): Promise<StageFigures & { hub: SettledHub }> {
  const { tokenOf, reviewer } = await hubTokens(hub);
  const client = new BenchClient(`http://${hub.config.host}:${hub.config.ports.mpi}`, PIX_CONCURRENCY);
  const site = { redis: hub.deps.redis, keys: hub.deps.keys };
  const queues = [openQueue(site, MODEL_ESTIMATION_QUEUE), openQueue(site, RECLUSTER_QUEUE)];
  try {
    await loadProxy(client, dataset, tokenOf);
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
    const report = await client.get('/matching/report', reviewer);
    if (report.status !== 200) throw new Error(`GET /matching/report answered ${report.status}: ${report.body.slice(0, 500)}`);
    const model = (JSON.parse(report.body) as { model: SettledHub['model'] }).model;
    const figures = stageFigures(dataset, await personsFromPix(client, dataset.records, tokenOf), await openReviews(client, reviewer));
    progress(
      `  as loaded (shipped settings, no manual step; the hub settled ${settledSeconds} s after the load, model version ${model.version}${model.trigger ? ` (${model.trigger})` : ''}): ` +
        `F1 ${figures.f1}, review ${figures.reviewTasks} Tasks (${figures.reviewShareOfRecords} of records)`,
    );
    return {
      ...figures,
      hub: { settledSeconds, model: { version: model.version, ...(model.trigger ? { trigger: model.trigger } : {}), ...(model.records !== undefined ? { records: model.records } : {}) } },
    };
  } finally {
    for (const q of queues) await q.close();
    client.close();
  }
}

async function measure(hub: RunningHub, dataset: ProxyDataset, progress: (message: string) => void): Promise<Omit<HeldoutRun, 'asLoaded'>> {
  const { tokenOf, reviewer } = await hubTokens(hub);
  const client = new BenchClient(`http://${hub.config.host}:${hub.config.ports.mpi}`, PIX_CONCURRENCY);
  try {
    const loadSeconds = await loadProxy(client, dataset, tokenOf);
    progress(`  loaded at ${Math.round(dataset.records.length / loadSeconds)} records/s; asking $ihe-pix for every record`);
    const arrivalPersons = await personsFromPix(client, dataset.records, tokenOf);
    const arrivalReviews = await openReviews(client, reviewer);
    const arrival = stageFigures(dataset, arrivalPersons, arrivalReviews);
    progress(`  arrival order, shipped default model: F1 ${arrival.f1}, review ${arrival.reviewTasks} Tasks (${arrival.reviewShareOfRecords} of records)`);

    const estimate = await client.post('/fhir/$estimate-model', '', reviewer);
    if (estimate.status !== 200 && estimate.status !== 201) throw new Error(`$estimate-model answered ${estimate.status}: ${estimate.body.slice(0, 1000)}`);
    const recluster = await client.post('/matching/$recluster', '', reviewer);
    if (recluster.status !== 200) throw new Error(`$recluster answered ${recluster.status}: ${recluster.body.slice(0, 1000)}`);
    const persons = await personsFromPix(client, dataset.records, tokenOf);
    const reviews = await openReviews(client, reviewer);
    const estimated = stageFigures(dataset, persons, reviews);
    progress(`  model estimated from the set, re-clustered: F1 ${estimated.f1}, review ${estimated.reviewTasks} Tasks (${estimated.reviewShareOfRecords} of records)`);
    return {
      seed: dataset.seed,
      records: dataset.records.length,
      people: dataset.people.length,
      loadRecordsPerSecond: Math.round(dataset.records.length / loadSeconds),
      arrival,
      estimated,
      model: modelSummary(estimate.body),
      recluster: JSON.parse(recluster.body) as unknown,
      rates: roundRates(dataset.rates),
      errors: analyseErrors(dataset, persons, reviews),
    };
  } finally {
    client.close();
  }
}

/** The hub's id of an agency record (`<agency>.<local id>`), as `$ihe-pix` and Tasks name it. */
export function recordId(r: Pick<ProxyRecord, 'agencyId' | 'localId'>): string {
  return `${r.agencyId}.${r.localId}`;
}

/**
 * Record id → Person label, from `$ihe-pix` asked for every record by its own agency: records a
 * PIX answer names together are one Person (joined transitively, so an answer the ISP filtered
 * on one side is made up by the other side's).
 */
async function personsFromPix(client: BenchClient, records: readonly ProxyRecord[], tokenOf: (agency: string) => string): Promise<Map<string, string>> {
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
        const source = encodeURIComponent(`${agencyPatientSystem(r.agencyId)}|${r.localId}`);
        const answer = await client.get(`/fhir/Patient/$ihe-pix?sourceIdentifier=${source}`, tokenOf(r.agencyId));
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
async function openReviews(client: BenchClient, reviewer: string): Promise<ReviewQuestion[]> {
  const out: ReviewQuestion[] = [];
  let url: string | undefined = '/fhir/Task?code=match-review&status=requested&_count=200';
  while (url) {
    const answer = await client.get(url, reviewer);
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
function stageFigures(dataset: ProxyDataset, personOf: ReadonlyMap<string, string>, reviews: readonly ReviewQuestion[]): StageFigures {
  const truthOf = new Map(dataset.records.map((r) => [recordId(r), r.personId] as const));
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
    reviewShareOfRecords: round(reviews.length / dataset.records.length),
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

/** The estimation's answer (a Parameters): version, thresholds, what the model expects of itself, the EM sessions. */
function modelSummary(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of (JSON.parse(body) as Parameters).parameter ?? []) {
    if (p.name === 'report') {
      const report = JSON.parse(p.valueString ?? '{}') as { sessions?: unknown; candidatePairs?: unknown };
      out.sessions = report.sessions;
      out.candidatePairs = report.candidatePairs;
    } else if (p.name !== 'summary' && p.name !== 'description') out[p.name] = p.valueInteger ?? p.valueDecimal ?? p.valueString;
  }
  return out;
}

function roundRates(rates: ProxyDataset['rates']): ProxyDataset['rates'] {
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, round(v, 3)])) as ProxyDataset['rates'];
}
