/**
 * Re-estimates `services/mpi/domain/default-model.json`, the matching model the MPI uses
 * unless a partnership configures its own, from the synthetic Scottish multi-agency
 * population (fixtures/generators): EM on the unlabelled candidate pairs for m, random
 * pairs for u, twins from within each agency. No labels are used, as none would be in a
 * real partnership; the benchmark then measures the model on a population generated
 * from another seed.
 *
 * Run: npm run build && node dist/bench/estimate-default-model.js [people] [seed]
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../shared/config.js';
import { estimateModelForRecords } from '../services/mpi/domain/estimate.js';
import { toFeatures } from '../services/mpi/domain/features.js';
import { syntheticRecords } from './matching/synthetic.js';

const people = Number(process.argv[2] ?? 35_000);
const seed = Number(process.argv[3] ?? 1);
const records = syntheticRecords({ seed, people });
const source = `synthetic Scottish multi-agency population (fixtures/generators/scottish-population.ts), seed ${seed}, ${people} people, ${records.length} agency records`;
const model = estimateModelForRecords(
  records.map((r) => toFeatures(r.record)),
  {
    source,
    description:
      'Default matching model of the partnership MPI. m by EM on the unlabelled candidate pairs of the source, u from random pairs, ' +
      'thresholds at posterior P(same person) 0.99 (link) and 0.2 (review) for an index of this size; twin guard from twins within each agency. ' +
      'Re-estimate on the partnership’s own records (estimateModelForRecords) as part of the matching methodology review.',
    date: new Date().toISOString().slice(0, 10),
  },
);
const file = path.resolve(PROJECT_ROOT, 'services', 'mpi', 'domain', 'default-model.json');
fs.writeFileSync(file, JSON.stringify(model, null, 2) + '\n');
console.log(JSON.stringify({ wrote: path.relative(PROJECT_ROOT, file), records: records.length, thresholds: model.thresholds, estimation: model.estimation }));
