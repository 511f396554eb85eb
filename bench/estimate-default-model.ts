/**
 * Re-estimates `services/mpi/domain/default-model.json`, the matching model the MPI uses
 * unless a partnership configures its own — and, by default, until its first load has ended and
 * the model is estimated from its own records (services/mpi/workers/model-estimation.ts).
 *
 * Estimated from the synthetic Scottish multi-agency population (fixtures/generators) with the
 * estimator the partnership's own estimation runs (`estimateMatchingModel`: EM sessions for m,
 * random pairs for u, twins from within each agency, unlabelled), with two choices for a model
 * used on records it was not estimated from:
 * - the home is scored once (`residence`), whatever the source shows: a partnership's registers
 *   hold households, and scored field by field a shared home counts three or four times (a father
 *   and his namesake son at one address linked). The partnership's own estimate scores the parts
 *   one by one where its records show no shared homes (`showsSharedHomes`);
 * - no term-frequency tables: how common a name or postcode is must come from the partnership's
 *   records, not from a generator's lists.
 * The benchmark then measures the model on a population generated from another seed, and on the
 * held-out proxy as registered (bench/matching/heldout.ts, `arrival`).
 *
 * Run: npm run build && node dist/bench/estimate-default-model.js [people] [seed]
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../shared/config.js';
import { estimateMatchingModel } from '../services/mpi/domain/estimate.js';
import { toFeatures } from '../services/mpi/domain/features.js';
import type { MatchModel } from '../services/mpi/domain/model.js';
import { syntheticRecords } from './matching/synthetic.js';

const people = Number(process.argv[2] ?? 35_000);
const seed = Number(process.argv[3] ?? 1);
const records = syntheticRecords({ seed, people });
const source = `synthetic Scottish multi-agency population (fixtures/generators/scottish-population.ts), seed ${seed}, ${people} people, ${records.length} agency records`;
const { model: estimated } = estimateMatchingModel(
  records.map((r) => toFeatures(r.record)),
  {
    source,
    home: 'once',
    description:
      'Default matching model of the partnership MPI, in use until the first estimation from the partnership’s own records (after its first load). ' +
      'Estimated as the partnership’s own estimation does (m by EM sessions on unlabelled pairs, u from random pairs, twin guard from twins within each agency), ' +
      'with the home scored once (residence) and no term-frequency tables; thresholds at posterior P(same person) 0.99 (link) and 0.2 (review) for an index of this size.',
    date: new Date().toISOString().slice(0, 10),
  },
);
const { termFrequencies: _fromTheGenerator, ...model } = estimated;
const shipped: MatchModel = model;
const file = path.resolve(PROJECT_ROOT, 'services', 'mpi', 'domain', 'default-model.json');
fs.writeFileSync(file, JSON.stringify(shipped, null, 2) + '\n');
console.log(JSON.stringify({ wrote: path.relative(PROJECT_ROOT, file), records: records.length, thresholds: shipped.thresholds, estimation: shipped.estimation }));
