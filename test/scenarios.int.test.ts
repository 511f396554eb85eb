/**
 * Replays every scenario under fixtures/scenarios against a whole hub started
 * in this process (its own key prefix, free ports, the test Redis), exactly as
 * `infoshare replay --spawn` would. One test per scenario, so a failure names
 * the scenario and lists each failed step with its reasons.
 */
import type { Parameters } from 'fhir/r4.js';
import { pino } from 'pino';
import { DEFAULT_SCENARIOS_DIR } from '../cli/commands/replay.js';
import { demoAgencyToken } from '../cli/demo-token.js';
import { RedisEvidenceReader } from '../cli/replay/evidence.js';
import { loadScenarios, type LoadedScenario } from '../cli/replay/load.js';
import { problemLines, stepLines, type Style } from '../cli/replay/report.js';
import { runScenarios, type ScenarioResult } from '../cli/replay/runner.js';
import { spawnHub, type SpawnedHub } from '../cli/replay/spawn.js';
import { leafHashOfText, verifyInclusion } from '../services/audit/domain/merkle.js';
import type { EvidenceReport } from '../services/audit/domain/evidence-report.js';

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
    // The shipped settings (a performance summary every 60 s): the auditor's scenario reads the analysis (SI-L5)
    // a few seconds after the start, at its first ask — the audit service takes the first summary then.
    hub = await spawnHub(pino({ level: 'error' }, pino.destination(2)));
    evidence = RedisEvidenceReader.connect(hub.target.redisUrl!, hub.target.keyPrefix);
  });

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

  // Issue 14's "done when": the report built by replaying every scenario. Runs after them (declared last).
  it('leave a maturity evidence report that demonstrates IM, PD, MA, MI, AP, PC and SI to level 5, every evidenced cell backed by logged exchanges whose inclusion proofs verify at its checkpoint', async () => {
    const token = await demoAgencyToken(hub.target.tokenUrl, 'nhs-lothian', 'system/AuditEvent.read');
    const get = async <T>(path: string): Promise<T> => (await fetch(`${hub.target.urls.audit}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<T>;
    const AREAS = ['IM', 'PD', 'MA', 'MI', 'AP', 'PC', 'SI'];
    const levels = (r: EvidenceReport) => Object.fromEntries(r.areas.filter((a) => AREAS.includes(a.code)).map((a) => [a.code, a.highestLevel]));
    // The report counts what the latest signed checkpoint covers: wait for one signed after the last scenario.
    let report = await get<EvidenceReport>('/evidence');
    for (const deadline = Date.now() + 60_000; Object.values(levels(report)).some((l) => l !== 5) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      report = await get<EvidenceReport>('/evidence');
    }
    expect(levels(report)).toEqual(Object.fromEntries(AREAS.map((a) => [a, 5])));
    const checkpoint = report.checkpoint!;
    const root = Buffer.from(checkpoint.rootHash, 'base64');
    const cells = report.areas.filter((a) => AREAS.includes(a.code)).flatMap((a) => a.cells.filter((c) => c.kind === 'exchange'));
    expect(cells.every((c) => c.status === 'demonstrated' && c.count > 0 && c.samples.length > 0)).toBe(true);
    for (const sample of cells.flatMap((c) => c.samples)) {
      // The entry's canonical bytes as the log holds them; the report's own proof must lead from them to the checkpoint's root.
      const answer = await get<Parameters>(`/fhir/AuditEvent/${sample.id}/$inclusion-proof?checkpoint=${checkpoint.size}`);
      const entry = answer.parameter!.find((p) => p.name === 'entry')!.valueString!;
      expect(entry.startsWith(`{"id":"${sample.id}",`)).toBe(true);
      const hashes = sample.proof!.hashes.map((h) => Buffer.from(h, 'base64'));
      expect(verifyInclusion(sample.proof!.leafIndex, checkpoint.size, leafHashOfText(entry), hashes, root)).toBe(true);
    }
  }, 120_000);
});
