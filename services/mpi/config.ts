/**
 * The MPI's own settings, from the environment (the hub's are in
 * shared/config.ts). Checked at start-up together with the hub's, so every
 * problem — a bad variable, or a matching model file that cannot be read or is
 * not a valid model — is reported at once, before anything listens.
 *
 *   INFOSHARE_BULK_BODY_LIMIT   body limit of the transaction endpoint (initial loads)       default 50mb
 *   INFOSHARE_MATCHING_MODEL    the partnership's declared matching model (MI-L2)            default both
 *   INFOSHARE_MATCH_MODEL_FILE  the Fellegi–Sunter model: m/u probabilities, thresholds      default services/mpi/domain/default-model.json
 *   INFOSHARE_MATCH_LINK_PROBABILITY    target P(same person) of the link threshold when estimating   default 0.99
 *   INFOSHARE_MATCH_REVIEW_PROBABILITY  target P(same person) of the review threshold                 default 0.2
 *   INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS  fewest indexed records an estimation accepts               default 1000
 *   INFOSHARE_MATCH_REESTIMATE_GROWTH   re-estimate automatically when the index has grown by this
 *                                       share since the model in use was estimated (0: never)      default 0.25
 *   INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS  how often the growth is checked                     default 300
 *   INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS  an estimation that is due (the first one once the index
 *                                       holds the fewest records, then at each growth share) waits
 *                                       until no registration has changed the index for this long:
 *                                       it runs when a load ends, once, not during it              default 30
 *   INFOSHARE_MPI_RECLUSTER_DELAY  seconds after a registration changed the index before the
 *                               re-clustering pass runs (workers/recluster.ts; 0: on demand only)   default 300
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, parseSettings, PROJECT_ROOT } from '../../shared/config.js';
import { assertValidModel, type MatchModel } from './domain/model.js';

const schema = z.object({
  INFOSHARE_BULK_BODY_LIMIT: z.string().default('50mb'),
  INFOSHARE_MATCHING_MODEL: z.enum(['chi-seeding', 'matching-indexing', 'both']).default('both'),
  INFOSHARE_MATCH_MODEL_FILE: z.string().default('services/mpi/domain/default-model.json'),
  INFOSHARE_MATCH_LINK_PROBABILITY: z.coerce.number().gt(0).lt(1).default(0.99),
  INFOSHARE_MATCH_REVIEW_PROBABILITY: z.coerce.number().gt(0).lt(1).default(0.2),
  INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS: z.coerce.number().int().min(2).default(1000),
  INFOSHARE_MATCH_REESTIMATE_GROWTH: z.coerce.number().min(0).default(0.25),
  INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS: z.coerce.number().positive().default(300),
  INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS: z.coerce.number().min(0).default(30),
  INFOSHARE_MPI_RECLUSTER_DELAY: z.coerce.number().int().min(0).default(300),
});

/** What the MPI's variables say, before the model file is read. */
export interface MpiSettings {
  readonly bulkBodyLimit: string;
  /** Declared in the matching report: CHI seeding, matching & indexing, or both. */
  readonly matchingModel: 'chi-seeding' | 'matching-indexing' | 'both';
  /** Absolute path of the matching model file. */
  readonly matchModelFile: string;
  /** Seconds after a registration changed the index that the re-clustering pass runs (0: only on demand). */
  readonly reclusterDelaySeconds: number;
  /** Estimating the partnership's own model (model-estimation.ts). */
  readonly estimation: EstimationSettings;
}

export interface EstimationSettings {
  /** Target posterior probability of the link threshold. */
  readonly linkProbability: number;
  /** Target posterior probability of the review threshold (≤ linkProbability). */
  readonly reviewProbability: number;
  /** Fewest indexed records to estimate from; fewer is refused and the model in use stays. */
  readonly minRecords: number;
  /** Share of growth since the model in use was estimated that triggers a re-estimation (0: never automatically). */
  readonly reestimateGrowth: number;
  /** Seconds between growth checks. */
  readonly checkSeconds: number;
  /**
   * Seconds without a registration that changed the index before a due estimation runs: a load in
   * progress keeps pushing it back, so it runs once, when the load has ended (workers/model-estimation.ts).
   */
  readonly quietSeconds: number;
}

export interface MpiConfig extends MpiSettings {
  /** The Fellegi–Sunter model read from `matchModelFile` and checked. */
  readonly model: MatchModel;
}

/** The MPI's variables without reading the model file (for tools that only need to know where it is). */
export function readMpiSettings(env: NodeJS.ProcessEnv = process.env): MpiSettings {
  const e = parseSettings(schema, env);
  if (e.INFOSHARE_MATCH_REVIEW_PROBABILITY > e.INFOSHARE_MATCH_LINK_PROBABILITY) {
    throw new ConfigError([
      `INFOSHARE_MATCH_REVIEW_PROBABILITY: must not be above INFOSHARE_MATCH_LINK_PROBABILITY (${e.INFOSHARE_MATCH_REVIEW_PROBABILITY} > ${e.INFOSHARE_MATCH_LINK_PROBABILITY})`,
    ]);
  }
  return {
    bulkBodyLimit: e.INFOSHARE_BULK_BODY_LIMIT,
    matchingModel: e.INFOSHARE_MATCHING_MODEL,
    matchModelFile: path.resolve(PROJECT_ROOT, e.INFOSHARE_MATCH_MODEL_FILE),
    estimation: {
      linkProbability: e.INFOSHARE_MATCH_LINK_PROBABILITY,
      reviewProbability: e.INFOSHARE_MATCH_REVIEW_PROBABILITY,
      minRecords: e.INFOSHARE_MATCH_ESTIMATE_MIN_RECORDS,
      reestimateGrowth: e.INFOSHARE_MATCH_REESTIMATE_GROWTH,
      checkSeconds: e.INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS,
      quietSeconds: e.INFOSHARE_MATCH_ESTIMATE_QUIET_SECONDS,
    },
    reclusterDelaySeconds: e.INFOSHARE_MPI_RECLUSTER_DELAY,
  };
}

/** The MPI's settings with its matching model loaded; a ConfigError lists every problem. */
export function loadMpiConfig(env: NodeJS.ProcessEnv = process.env): MpiConfig {
  const settings = readMpiSettings(env);
  return { ...settings, model: readMatchModel(settings.matchModelFile) };
}

/**
 * The matching model is configuration: the default is the model estimated from
 * data and committed as `domain/default-model.json`; a partnership tunes
 * thresholds by pointing INFOSHARE_MATCH_MODEL_FILE at its own copy.
 */
function readMatchModel(file: string): MatchModel {
  const problem = (text: string) => new ConfigError([`INFOSHARE_MATCH_MODEL_FILE: ${text}`]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw problem(`cannot read the matching model ${file}: ${(err as Error).message}`);
  }
  try {
    assertValidModel(parsed);
  } catch (err) {
    throw problem(`${file}: ${(err as Error).message}`);
  }
  return parsed;
}
