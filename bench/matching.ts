/**
 * Matching benchmark (`npm run bench:matching`): quality and speed of the MPI's pure
 * matching engine on
 * - FEBRL 4 (dataset4b linked against an index of dataset4a; 5,000 true pairs), with
 *   soc_sec_id used like a CHI ("identifier": true) and without it; the model is
 *   estimated on the data set itself by EM (unlabelled) with u from random pairs;
 * - a synthetic Scottish multi-agency population (fixtures/generators), records arriving
 *   one at a time as agency systems would submit them, with and without the CHI; the
 *   model is the shipped default-model.json (estimated from another seed).
 * Review counts as not linked for precision and recall; its share of true pairs is
 * reported separately. Speed is the fastest of several timed runs after a warm-up (the
 * one least disturbed by other processes). The baseline, measured in the same run, is an
 * exact-key linker (exact forename + surname + birth date), so figures compare across
 * machines.
 *
 * Prints one JSON line per data set and run, and writes them to bench/results/matching.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../shared/config.js';
import { assertValidModel, type MatchModel } from '../services/mpi/domain/model.js';
import { readFebrl } from './matching/febrl.js';
import { estimateForLinkage, runLinkage } from './matching/linkage.js';
import { runDedup, syntheticRecords } from './matching/synthetic.js';

const TARGETS = {
  febrl4: { f1: 0.99, reviewShareOfTruePairs: 0.02, recordsPerSecond: 20_000 },
  'synthetic-scotland': { f1: 0.98, reviewShareOfTruePairs: 0.02, recordsPerSecond: 20_000 },
} as const;

const SYNTHETIC = { seed: 2026, people: 10_000 } as const;

interface Line {
  readonly bench: 'matching';
  readonly dataset: keyof typeof TARGETS;
  readonly identifier: boolean;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly reviewShareOfTruePairs: number;
  readonly recordsPerSecond: number;
  readonly comparisonsPerRecord: number;
  readonly pairsCompleteness: number;
  readonly baseline: object;
  readonly [extra: string]: unknown;
}

function meets(dataset: keyof typeof TARGETS, figures: { f1: number; reviewShareOfTruePairs: number; recordsPerSecond: number }): boolean {
  const t = TARGETS[dataset];
  return figures.f1 >= t.f1 && figures.reviewShareOfTruePairs <= t.reviewShareOfTruePairs && figures.recordsPerSecond >= t.recordsPerSecond;
}

function febrlRuns(): Line[] {
  const dir = path.resolve(PROJECT_ROOT, 'bench', 'data', 'febrl');
  return [false, true].map((identifier) => {
    const left = readFebrl(path.join(dir, 'dataset4a.csv'), { identifier });
    const right = readFebrl(path.join(dir, 'dataset4b.csv'), { identifier });
    const model = estimateForLinkage(left, right, `FEBRL dataset4a x dataset4b${identifier ? ' with soc_sec_id' : ''}`);
    const { baseline, outcomes, indexRecordsPerSecond, ...figures } = runLinkage(left, right, model);
    return {
      bench: 'matching',
      dataset: 'febrl4',
      identifier,
      ...figures,
      baseline,
      outcomes,
      indexRecordsPerSecond,
      timed: 'features + blocking + comparison + decision per dataset4b record, against an in-memory index of dataset4a',
      model: { from: 'EM on this data set (unlabelled) + random pairs', thresholds: model.thresholds },
      targets: TARGETS.febrl4,
      meetsTargets: meets('febrl4', figures),
    } satisfies Line;
  });
}

function syntheticRuns(): Line[] {
  const model: unknown = JSON.parse(fs.readFileSync(path.resolve(PROJECT_ROOT, 'services', 'mpi', 'domain', 'default-model.json'), 'utf8'));
  assertValidModel(model);
  const defaultModel: MatchModel = model;
  return [true, false].map((identifier) => {
    const records = syntheticRecords({ ...SYNTHETIC, withoutChi: !identifier });
    const { baseline, outcomes, records: count, truePairs, ...figures } = runDedup(records, defaultModel);
    return {
      bench: 'matching',
      dataset: 'synthetic-scotland',
      identifier,
      ...figures,
      baseline,
      outcomes,
      records: count,
      truePairs,
      generator: { ...SYNTHETIC, agencies: 'Lothian partnership (11)' },
      timed: 'features + blocking + comparison + decision + indexing per record, records arriving one at a time',
      model: { from: 'default-model.json', source: defaultModel.estimation?.source, thresholds: defaultModel.thresholds },
      targets: TARGETS['synthetic-scotland'],
      meetsTargets: meets('synthetic-scotland', figures),
    } satisfies Line;
  });
}

const lines: Line[] = [];
for (const line of [...febrlRuns(), ...syntheticRuns()]) {
  console.log(JSON.stringify(line));
  lines.push(line);
}

const results = {
  generatedAt: new Date().toISOString(),
  machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model },
  attribution: 'FEBRL data sets, Peter Christen, Australian National University (Febrl), redistributed by the Python Record Linkage Toolkit',
  runs: lines,
};
const out = path.resolve(PROJECT_ROOT, 'bench', 'results', 'matching.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
