/**
 * The held-out proxy (fixtures/heldout/multi-agency.ts) measured the way issue 12 measured the
 * held-out set, through the API (through-api.ts: the six agency systems each sending their records
 * as transaction Bundles of 500, then `$ihe-pix` asked for every record, by its own agency).
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
 * At each stage the open review Tasks are read: how many per record, and how many ask about two
 * records of one person.
 */
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import { proxyTransactionBundles } from '../../fixtures/heldout/fhir.js';
import { generateProxyDataset, type ProxyDataset } from '../../fixtures/heldout/multi-agency.js';
import type { Parameters } from 'fhir/r4.js';
import type { RunningHub } from '../../services/hub.js';
import { analyseErrors, type ErrorAnalysis } from './heldout-errors.js';
import { round } from './metrics.js';
import { BUNDLE_SIZE, hubAccess, loadTransactions, measureAsLoaded, readStage, withHub, type LoadableSet, type SettledHub, type StageFigures } from './through-api.js';

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
  const set: LoadableSet = { records: dataset.records, transactions: proxyTransactionBundles(dataset.records, BUNDLE_SIZE), patientSystem: agencyPatientSystem };
  progress(`held-out proxy seed ${seed}: ${dataset.records.length} records of ${dataset.people.length} people; a hub (directory + MPI, private Redis) with its shipped settings`);
  const { figures, hub } = await withHub({}, (h) => measureAsLoaded(h, set, progress));
  // Passes and estimations run when the benchmark asks, not on a timer in the middle of a stage.
  progress(`held-out proxy seed ${seed}: a second hub, automatic estimation and passes off, for the shipped default as registered and the manual steps`);
  const manual = await withHub({ INFOSHARE_MPI_RECLUSTER_DELAY: '0', INFOSHARE_MATCH_REESTIMATE_GROWTH: '0' }, (h) => measure(h, dataset, set, progress));
  return { ...manual, asLoaded: { ...figures, hub } };
}

async function measure(hub: RunningHub, dataset: ProxyDataset, set: LoadableSet, progress: (message: string) => void): Promise<Omit<HeldoutRun, 'asLoaded'>> {
  const access = await hubAccess(hub);
  const { client, reviewer } = access;
  try {
    const loadSeconds = await loadTransactions(access, set);
    progress(`  loaded at ${Math.round(dataset.records.length / loadSeconds)} records/s; asking $ihe-pix for every record`);
    const { figures: arrival } = await readStage(access, set);
    progress(`  arrival order, shipped default model: F1 ${arrival.f1}, review ${arrival.reviewTasks} Tasks (${arrival.reviewShareOfRecords} of records)`);

    const estimate = await client.post('/fhir/$estimate-model', '', reviewer);
    if (estimate.status !== 200 && estimate.status !== 201) throw new Error(`$estimate-model answered ${estimate.status}: ${estimate.body.slice(0, 1000)}`);
    const recluster = await client.post('/matching/$recluster', '', reviewer);
    if (recluster.status !== 200) throw new Error(`$recluster answered ${recluster.status}: ${recluster.body.slice(0, 1000)}`);
    const { figures: estimated, personOf, reviews } = await readStage(access, set);
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
      errors: analyseErrors(dataset, personOf, reviews),
    };
  } finally {
    client.close();
  }
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
