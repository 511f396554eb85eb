/** Rendering a replay for people (live, line by line) and for machines (`--json`). */
import path from 'node:path';
import type { LoadedScenario, ScenarioProblem } from './load.js';
import type { RunReport, ScenarioResult, StepResult } from './runner.js';

export interface Style {
  readonly green: (s: string) => string;
  readonly red: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const plain: Style = { green: (s) => s, red: (s) => s, dim: (s) => s, bold: (s) => s };
const ansi = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
const colour: Style = { green: ansi('32'), red: ansi('31'), dim: ansi('2'), bold: ansi('1') };

/** Colour only for a terminal, and never when NO_COLOR is set (no-color.org). */
export function styleFor(stream: NodeJS.WriteStream): Style {
  return stream.isTTY && !process.env.NO_COLOR ? colour : plain;
}

export function scenarioHeading(loaded: LoadedScenario, style: Style): string {
  return `${style.bold(`▶ ${loaded.scenario.name}`)} ${style.dim(`(${displayPath(loaded.file)})`)}`;
}

/** Paths under the working directory are shown relative to it. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** `  ✔ name (12 ms) — 200, criteria SI-L3` and, on failure, one indented line per reason. */
export function stepLines(step: StepResult, style: Style): string[] {
  if (step.outcome === 'skipped') return [style.dim(`  – ${step.name} (not run: an earlier step failed)`)];
  const mark = step.outcome === 'passed' ? style.green('✔') : style.red('✘');
  const evidence = [
    step.status !== undefined ? String(step.status) : undefined,
    step.criteriaFound.length ? `criteria ${step.criteriaFound.join(', ')}` : undefined,
    step.attempts > 1 ? `${step.attempts} attempts` : undefined,
  ].filter(Boolean);
  const lines = [`  ${mark} ${step.name} ${style.dim(`(${step.durationMs} ms)`)}${evidence.length ? ` — ${evidence.join(', ')}` : ''}`];
  if (step.outcome === 'failed') {
    if (step.request) lines.push(style.dim(`      ${step.request}`));
    for (const reason of step.reasons) lines.push(style.red(`      ${reason}`));
  }
  return lines;
}

export function scenarioErrorLines(result: ScenarioResult, style: Style): string[] {
  return result.error ? [style.red(`  ✘ ${result.error}`)] : [];
}

export function problemLines(problems: readonly ScenarioProblem[], style: Style): string[] {
  return problems.flatMap((p) => [style.red(`✘ ${displayPath(p.file)}`), ...p.problems.map((text) => `    ${text}`)]);
}

export function summaryLine(report: RunReport, style: Style): string {
  const steps = report.scenarios.flatMap((s) => s.steps);
  const count = (o: StepResult['outcome']) => steps.filter((s) => s.outcome === o).length;
  const failedScenarios = report.scenarios.filter((s) => !s.passed).length;
  const text =
    `${report.scenarios.length} scenario${report.scenarios.length === 1 ? '' : 's'}: ` +
    `${report.scenarios.length - failedScenarios} passed, ${failedScenarios} failed; ` +
    `steps: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} not run ` +
    `(${(report.durationMs / 1000).toFixed(1)} s, run ${report.runId})`;
  return report.passed ? style.green(`✔ ${text}`) : style.red(`✘ ${text}`);
}

/** The `--json` document: the whole report, plus any files that could not be read. */
export function jsonReport(report: RunReport | undefined, problems: readonly ScenarioProblem[]): string {
  return JSON.stringify({ ...report, passed: (report?.passed ?? true) && problems.length === 0, problems }, null, 2);
}
