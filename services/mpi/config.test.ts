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
      expect(problem).toContain('version must be 1');
      expect(problem).toContain('thresholds.lower must not be above thresholds.upper');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells where the model file is without reading it (the benchmark estimates one when it is missing)', () => {
    expect(readMpiSettings({ INFOSHARE_MATCH_MODEL_FILE: 'no/such/model.json' }).matchModelFile).toMatch(/no\/such\/model\.json$/);
  });
});
