/**
 * The held-out proxy (fixtures/heldout/multi-agency.ts) measured the way issue 12 measured the
 * held-out set: through the API of a real hub (directory + MPI over a private Redis), the six
 * agency systems each sending their records as transaction Bundles of 500, then `$ihe-pix` asked
 * for every record, by its own agency; the Persons are read from those answers, nothing else.
 *
 * Two stages are measured on the same index:
 * - `arrival`: as registration left it, with the configured model (what a partnership has on day one);
 * - `estimated` (the headline): after `POST /fhir/$estimate-model` learnt a model from the set's
 *   own records (unlabelled) and `POST /matching/$recluster` re-decided the index with it.
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

export interface HeldoutRun {
  readonly seed: number;
  readonly records: number;
  readonly people: number;
  readonly loadRecordsPerSecond: number;
  readonly arrival: StageFigures;
  readonly estimated: StageFigures;
  readonly model: Record<string, unknown>;
  readonly recluster: unknown;
  readonly rates: ProxyDataset['rates'];
  readonly errors: ErrorAnalysis;
}

export async function runHeldoutProxy(seed: number, progress: (message: string) => void, people = 2000): Promise<HeldoutRun> {
  const dataset = generateProxyDataset({ seed, people });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-heldout-'));
  // Passes and estimations run when the benchmark asks, not on a timer in the middle of a stage.
  const env = benchHubEnv(tmp, { INFOSHARE_MPI_RECLUSTER_DELAY: '0', INFOSHARE_MATCH_REESTIMATE_GROWTH: '0' });
  let hub: RunningHub | undefined;
  try {
    progress(`held-out proxy seed ${seed}: ${dataset.records.length} records of ${dataset.people.length} people; starting a hub (directory + MPI, private Redis)`);
    hub = await startHub({ env, freePorts: true, log: pino({ name: 'bench-matching', level: env.INFOSHARE_LOG_LEVEL }, pino.destination(2)), loadDemoPeople: false, services: ['directory', 'mpi'] });
    return await measure(hub, dataset, progress);
  } finally {
    await hub?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function measure(hub: RunningHub, dataset: ProxyDataset, progress: (message: string) => void): Promise<HeldoutRun> {
  const key = await loadTokenSigningKey(hub.config.token);
  const tokens = new Map<string, string>();
  const tokenOf = (agency: string, scopes = AGENCY_SCOPES): string => {
    const k = `${agency}|${scopes.join(' ')}`;
    let t = tokens.get(k);
    if (!t) {
      t = issueAccessToken({ clientId: agency, agency, partnership: PARTNERSHIP, scopes }, key, hub.config.token).token;
      tokens.set(k, t);
    }
    return t;
  };
  const reviewer = tokenOf('nhs-lothian', REVIEWER_SCOPES);
  const client = new BenchClient(`http://${hub.config.host}:${hub.config.ports.mpi}`, PIX_CONCURRENCY);
  try {
    // Each agency system sends its whole extract, Bundle after Bundle; agencies one after another.
    const bundles = proxyTransactionBundles(dataset.records, BUNDLE_SIZE);
    const started = performance.now();
    for (const b of bundles) {
      const r = await client.post('/fhir', JSON.stringify(b.bundle), tokenOf(b.agencyId), { prefer: 'return=minimal' });
      if (r.status !== 200) throw new Error(`transaction of ${b.records.length} ${b.agencyId} records answered ${r.status}: ${r.body.slice(0, 1000)}`);
    }
    const loadSeconds = (performance.now() - started) / 1000;
    progress(`  loaded in ${bundles.length} Bundles, ${Math.round(dataset.records.length / loadSeconds)} records/s; asking $ihe-pix for every record`);
    const arrivalPersons = await personsFromPix(client, dataset.records, tokenOf);
    const arrivalReviews = await openReviews(client, reviewer);
    const arrival = stageFigures(dataset, arrivalPersons, arrivalReviews);
    progress(`  arrival order, configured model: F1 ${arrival.f1}, review ${arrival.reviewTasks} Tasks (${arrival.reviewShareOfRecords} of records)`);

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
