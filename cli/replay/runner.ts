/**
 * Runs scenarios step by step: substitute variables, send the request (again
 * and again under `waitFor`), check the answer, save variables, then check
 * the audit trail for the criteria the step should have evidenced. The first
 * failing step ends its scenario (later steps build on it); the others still run.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '../../shared/config.js';
import { ActorTokens } from './actor-tokens.js';
import { checkExpectation, type StatusRule } from './checks.js';
import type { EvidenceReader } from './evidence.js';
import { executeStep, type StepResponse } from './execute.js';
import type { LoadedScenario } from './load.js';
import { evaluateResponsePath } from './paths.js';
import { servicesOf, type Step } from './scenario.js';
import { checkReachable, type ReplayTarget } from './target.js';
import { defaultBuiltins, substitute, type Builtins, type Variables } from './variables.js';

export type StepOutcome = 'passed' | 'failed' | 'skipped';

export interface StepResult {
  readonly name: string;
  readonly outcome: StepOutcome;
  readonly durationMs: number;
  /** What was sent. */
  readonly request?: string;
  readonly status?: number;
  /** Why the step failed (each unmet expectation), empty when it passed. */
  readonly reasons: readonly string[];
  readonly criteriaExpected: readonly string[];
  /** Criteria the audit trail shows for this step's exchanges. */
  readonly criteriaFound: readonly string[];
  readonly attempts: number;
  /** The X-Request-Id prefix of the step's exchanges, to find them in the audit trail. */
  readonly requestId: string;
}

export interface ScenarioResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  readonly durationMs: number;
  /** A problem that stopped the whole scenario (e.g. a service not reachable). */
  readonly error?: string;
  readonly steps: readonly StepResult[];
}

export interface RunOptions {
  readonly target: ReplayTarget;
  /** Reads the audit trail; undefined when no Redis is known (steps expecting criteria then fail, saying so). */
  readonly evidence?: EvidenceReader;
  /** Called as each step finishes (for live output). */
  readonly onStep?: (scenario: LoadedScenario, step: StepResult) => void;
  readonly onScenarioStart?: (scenario: LoadedScenario) => void;
  readonly onScenarioEnd?: (scenario: LoadedScenario, result: ScenarioResult) => void;
  readonly builtins?: Builtins;
}

export interface RunReport {
  readonly runId: string;
  readonly passed: boolean;
  readonly durationMs: number;
  readonly scenarios: readonly ScenarioResult[];
}

export async function runScenarios(scenarios: readonly LoadedScenario[], options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const runId = options.builtins?.runId ?? randomBytes(4).toString('hex');
  const builtins = options.builtins ?? defaultBuiltins(runId);
  const tokens = new ActorTokens(options.target);
  const reachability = new Map<ServiceName, Promise<string | undefined>>();
  const results: ScenarioResult[] = [];
  for (const [index, loaded] of scenarios.entries()) {
    options.onScenarioStart?.(loaded);
    const result = await runScenario(loaded, index, { ...options, builtins, tokens, runId, reachability });
    options.onScenarioEnd?.(loaded, result);
    results.push(result);
  }
  return { runId, passed: results.every((r) => r.passed), durationMs: Date.now() - started, scenarios: results };
}

interface ScenarioContext extends RunOptions {
  readonly builtins: Builtins;
  readonly tokens: ActorTokens;
  readonly runId: string;
  readonly reachability: Map<ServiceName, Promise<string | undefined>>;
}

async function runScenario(loaded: LoadedScenario, index: number, ctx: ScenarioContext): Promise<ScenarioResult> {
  const { scenario, file } = loaded;
  const started = Date.now();
  const skippedAll = (from: number): StepResult[] =>
    scenario.steps.slice(from).map((s, i) => skipped(s, requestIdPrefix(ctx.runId, index, from + i)));

  const unreachable = (
    await Promise.all(
      servicesOf(scenario).map((name) => {
        let check = ctx.reachability.get(name);
        if (!check) {
          check = checkReachable(name, ctx.target.urls[name]);
          ctx.reachability.set(name, check);
        }
        return check;
      }),
    )
  ).filter((r): r is string => r !== undefined);
  if (unreachable.length) {
    return { file, name: scenario.name, passed: false, durationMs: Date.now() - started, error: unreachable.join('; '), steps: skippedAll(0) };
  }

  const vars: Variables = { ...scenario.variables };
  const steps: StepResult[] = [];
  for (const [i, step] of scenario.steps.entries()) {
    const result = await runStep(step, vars, requestIdPrefix(ctx.runId, index, i), ctx);
    steps.push(result);
    ctx.onStep?.(loaded, result);
    if (result.outcome === 'failed') {
      const rest = skippedAll(i + 1);
      for (const r of rest) ctx.onStep?.(loaded, r);
      steps.push(...rest);
      break;
    }
  }
  return { file, name: scenario.name, passed: steps.every((s) => s.outcome === 'passed'), durationMs: Date.now() - started, steps };
}

/** `replay-<run>.<scenario>.<step>.` — the trailing dot keeps step 1 from matching step 10. */
function requestIdPrefix(runId: string, scenario: number, step: number): string {
  return `replay-${runId}.${scenario + 1}.${step + 1}.`;
}

function skipped(step: Step, requestId: string): StepResult {
  return { name: step.name, outcome: 'skipped', durationMs: 0, reasons: [], criteriaExpected: step.criteria ?? [], criteriaFound: [], attempts: 0, requestId };
}

async function runStep(raw: Step, vars: Variables, prefix: string, ctx: ScenarioContext): Promise<StepResult> {
  const started = Date.now();
  const criteriaExpected = raw.criteria ?? [];
  const criteriaAbsent = raw.criteriaAbsent ?? [];
  const checksEvidence = criteriaExpected.length > 0 || criteriaAbsent.length > 0;
  const base = { name: raw.name, criteriaExpected, requestId: prefix };
  const fail = (reasons: string[], extra: Partial<StepResult> = {}): StepResult => ({
    ...base,
    outcome: 'failed',
    durationMs: Date.now() - started,
    reasons,
    criteriaFound: [],
    attempts: 0,
    ...extra,
  });

  let mark: string | undefined;
  if (checksEvidence) {
    if (!ctx.evidence) {
      const codes = [...criteriaExpected, ...criteriaAbsent].join(', ');
      return fail([`cannot check criteria ${codes}: no Redis to read the audit trail from (is the hub running, \`infoshare start\`, on this data directory? else pass --redis or set REDIS_URL)`]);
    }
    try {
      mark = await ctx.evidence.mark();
    } catch (err) {
      return fail([`cannot read the audit trail: ${(err as Error).message}`]);
    }
  }

  // The request is substituted afresh for each attempt so `${$uuid}` and `${$now}` stay fresh.
  const defaultStatus: StatusRule = raw.token ? 200 : 'success';
  const deadline = raw.waitFor ? Date.now() + raw.waitFor.timeoutMs : 0;
  let attempts = 0;
  let response: StepResponse | undefined;
  let reasons: string[];
  // The step as last sent: its `save` paths are substituted too (a path may filter on `${$run}`).
  let step: Step | undefined;
  for (;;) {
    attempts++;
    try {
      step = substitute(raw, vars, ctx.builtins);
    } catch (err) {
      return fail([(err as Error).message], { attempts });
    }
    try {
      response = await executeStep(step, { target: ctx.target, tokens: ctx.tokens, requestId: `${prefix}${attempts}` });
      reasons = checkExpectation(step.expect, response, defaultStatus);
    } catch (err) {
      response = undefined;
      reasons = [(err as Error).message];
    }
    if (reasons.length === 0 || !raw.waitFor || Date.now() + raw.waitFor.intervalMs > deadline) break;
    await sleep(raw.waitFor.intervalMs);
  }
  const seen = { attempts, ...(response ? { request: response.request, status: response.status } : {}) };
  if (reasons.length) {
    if (raw.waitFor && attempts > 1) reasons = [`still failing after ${attempts} attempts over ${raw.waitFor.timeoutMs} ms:`, ...reasons];
    return fail(reasons, seen);
  }

  for (const [name, path] of Object.entries(step?.save ?? {})) {
    const found = evaluateResponsePath(response!, path);
    if (!found.found) return fail([`save ${name}: nothing at ${path}`], seen);
    vars[name] = found.value;
  }

  let criteriaFound: string[] = [];
  if (checksEvidence) {
    try {
      await ctx.evidence!.relayed();
      criteriaFound = [...(await ctx.evidence!.criteriaSince(mark, prefix))].sort();
    } catch (err) {
      return fail([`cannot read the audit trail: ${(err as Error).message}`], seen);
    }
    const found = `(found: ${criteriaFound.join(', ') || 'none'})`;
    const missing = criteriaExpected.filter((c) => !criteriaFound.includes(c));
    const wrongly = criteriaAbsent.filter((c) => criteriaFound.includes(c));
    const problems = [
      ...(missing.length ? [`criteria not evidenced in the audit trail: ${missing.join(', ')} ${found}`] : []),
      ...(wrongly.length ? [`criteria evidenced that must not be: ${wrongly.join(', ')} ${found}`] : []),
    ];
    if (problems.length) return fail(problems, { ...seen, criteriaFound });
  }
  return { ...base, ...seen, outcome: 'passed', durationMs: Date.now() - started, reasons: [], criteriaFound };
}
