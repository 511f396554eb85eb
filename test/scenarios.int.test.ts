/**
 * Replays every scenario under fixtures/scenarios against a whole hub started
 * in this process (its own key prefix, free ports, the test Redis), exactly as
 * `infoshare replay --spawn` would. One test per scenario, so a failure names
 * the scenario and lists each failed step with its reasons.
 */
import { pino } from 'pino';
import { DEFAULT_SCENARIOS_DIR } from '../cli/commands/replay.js';
import { RedisEvidenceReader } from '../cli/replay/evidence.js';
import { loadScenarios, type LoadedScenario } from '../cli/replay/load.js';
import { problemLines, stepLines, type Style } from '../cli/replay/report.js';
import { runScenarios, type ScenarioResult } from '../cli/replay/runner.js';
import { spawnHub, type SpawnedHub } from '../cli/replay/spawn.js';

const plain: Style = { green: (s) => s, red: (s) => s, dim: (s) => s, bold: (s) => s };
const { scenarios, problems } = await loadScenarios([DEFAULT_SCENARIOS_DIR]);

function explain(result: ScenarioResult): string {
  return [result.error ?? '', ...result.steps.flatMap((s) => stepLines(s, plain))].filter(Boolean).join('\n');
}

describe('scenario files', () => {
  it('are all valid scenarios', () => {
    expect(problemLines(problems, plain)).toEqual([]);
    expect(scenarios.length).toBeGreaterThan(0);
  });
});

describe('scenario replay against an in-process hub', () => {
  let hub: SpawnedHub;
  let evidence: RedisEvidenceReader;

  beforeAll(async () => {
    hub = await spawnHub(pino({ level: 'error' }, pino.destination(2)));
    evidence = RedisEvidenceReader.connect(hub.target.redisUrl!, hub.target.keyPrefix);
  }, 60_000);

  afterAll(async () => {
    await evidence?.close();
    await hub?.stop(false);
  });

  it.each(scenarios.map((s): [string, LoadedScenario] => [s.scenario.name, s]))(
    '%s',
    async (_name, loaded) => {
      const report = await runScenarios([loaded], { target: hub.target, evidence });
      const [result] = report.scenarios;
      if (!result!.passed) throw new Error(`Scenario failed (${loaded.file}):\n${explain(result!)}`);
    },
    60_000,
  );
});
