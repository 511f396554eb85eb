import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, loadConfigs, PROJECT_ROOT } from '../../shared/config.js';
import { loadMpiConfig, readMpiSettings } from './config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the MPI configuration', () => {
  it('defaults to a 50mb bulk limit, both matching models declared, and the committed default model, loaded', () => {
    const config = loadMpiConfig({});
    expect(config.bulkBodyLimit).toBe('50mb');
    expect(config.matchingModel).toBe('both');
    expect(path.relative(PROJECT_ROOT, config.matchModelFile)).toBe(path.join('services', 'mpi', 'domain', 'default-model.json'));
    expect(config.model.version).toBe(1);
    expect(config.model.thresholds.upper).toBeGreaterThanOrEqual(config.model.thresholds.lower);
  });

  it('reports its problems together with the hub’s, all at once', () => {
    const env = { INFOSHARE_MPI_PORT: 'not-a-port', INFOSHARE_MATCHING_MODEL: 'guesswork', INFOSHARE_MATCH_MODEL_FILE: 'no/such/model.json' };
    const problems = problemsOf(() => loadConfigs(env, [loadConfig, loadMpiConfig]));
    expect(problems).toEqual([
      expect.stringMatching(/^INFOSHARE_MPI_PORT: /),
      expect.stringMatching(/^INFOSHARE_MATCHING_MODEL: /),
    ]);
    // The model file is read only once the variables are valid; then its problem is reported too.
    expect(problemsOf(() => loadConfigs({ ...env, INFOSHARE_MATCHING_MODEL: 'both' }, [loadConfig, loadMpiConfig]))).toEqual([
      expect.stringMatching(/^INFOSHARE_MPI_PORT: /),
      expect.stringMatching(/^INFOSHARE_MATCH_MODEL_FILE: cannot read the matching model .*no\/such\/model\.json/),
    ]);
  });

  it('refuses a model file that is not a valid model, naming the file and what is wrong', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpi-config-'));
    try {
      const file = path.join(dir, 'model.json');
      fs.writeFileSync(file, JSON.stringify({ version: 2, thresholds: { upper: 1, lower: 5 }, fields: {} }));
      const [problem] = problemsOf(() => loadMpiConfig({ INFOSHARE_MATCH_MODEL_FILE: file }));
      expect(problem).toContain(file);
      expect(problem).toContain('version: must be 1');
      expect(problem).toContain('thresholds.lower: must not be above thresholds.upper');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses at start-up a model file that is not JSON, or whose probabilities are outside (0, 1), naming the offending field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpi-config-'));
    try {
      const file = path.join(dir, 'model.json');
      fs.writeFileSync(file, '{ "version": 1, "fields": ');
      expect(problemsOf(() => loadMpiConfig({ INFOSHARE_MATCH_MODEL_FILE: file }))[0]).toMatch(/^INFOSHARE_MATCH_MODEL_FILE: cannot read the matching model .*model\.json: .*JSON/);
      const model = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'services', 'mpi', 'domain', 'default-model.json'), 'utf8')) as {
        fields: Record<string, Record<string, { m: number; u: number }>>;
      };
      model.fields.residence!.different!.m = 0;
      model.fields.given!.exact!.u = 1.2;
      fs.writeFileSync(file, JSON.stringify(model));
      const [problem] = problemsOf(() => loadMpiConfig({ INFOSHARE_MATCH_MODEL_FILE: file }));
      expect(problem).toContain('fields.given.exact.u: must be a probability strictly between 0 and 1 (is 1.2)');
      expect(problem).toContain('fields.residence.different.m: must be a probability strictly between 0 and 1 (is 0)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sets thresholds from target probabilities 0.99 and 0.2 and re-estimates after 25 % growth unless told otherwise', () => {
    expect(readMpiSettings({}).estimation).toEqual({ linkProbability: 0.99, reviewProbability: 0.2, minRecords: 1000, reestimateGrowth: 0.25, checkSeconds: 300, quietSeconds: 30 });
    const set = readMpiSettings({ INFOSHARE_MATCH_LINK_PROBABILITY: '0.995', INFOSHARE_MATCH_REVIEW_PROBABILITY: '0.5', INFOSHARE_MATCH_REESTIMATE_GROWTH: '0' });
    expect(set.estimation).toMatchObject({ linkProbability: 0.995, reviewProbability: 0.5, reestimateGrowth: 0 });
    expect(problemsOf(() => readMpiSettings({ INFOSHARE_MATCH_LINK_PROBABILITY: '1' }))).toEqual([expect.stringMatching(/^INFOSHARE_MATCH_LINK_PROBABILITY: /)]);
    expect(problemsOf(() => readMpiSettings({ INFOSHARE_MATCH_LINK_PROBABILITY: '0.9', INFOSHARE_MATCH_REVIEW_PROBABILITY: '0.95' }))).toEqual([
      'INFOSHARE_MATCH_REVIEW_PROBABILITY: must not be above INFOSHARE_MATCH_LINK_PROBABILITY (0.95 > 0.9)',
    ]);
  });

  it('tells where the model file is without reading it (the benchmark estimates one when it is missing)', () => {
    expect(readMpiSettings({ INFOSHARE_MATCH_MODEL_FILE: 'no/such/model.json' }).matchModelFile).toMatch(/no\/such\/model\.json$/);
  });
});
