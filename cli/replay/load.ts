/**
 * Finding and validating scenario files. Every problem in every file is
 * reported at once (with where in the file it is), so a tester fixes a batch
 * of scenarios in one go rather than one error per run.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { scenarioSchema, type Scenario } from './scenario.js';

export interface LoadedScenario {
  /** Path as given or found (relative paths stay relative, for readable reports). */
  readonly file: string;
  readonly scenario: Scenario;
}

export interface ScenarioProblem {
  readonly file: string;
  readonly problems: readonly string[];
}

export interface LoadResult {
  readonly scenarios: readonly LoadedScenario[];
  readonly problems: readonly ScenarioProblem[];
}

/** Scenario files are `.json`; directories are searched recursively, in name order. */
export async function findScenarioFiles(paths: readonly string[]): Promise<{ files: string[]; problems: ScenarioProblem[] }> {
  const files: string[] = [];
  const problems: ScenarioProblem[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch {
      problems.push({ file: p, problems: ['no such file or directory'] });
      continue;
    }
    if (info.isDirectory()) {
      const found = await jsonFilesUnder(p);
      if (found.length === 0) problems.push({ file: p, problems: ['no scenario (.json) files in this directory'] });
      files.push(...found);
    } else {
      files.push(p);
    }
  }
  return { files: [...new Set(files)], problems };
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await jsonFilesUnder(full)));
    else if (e.isFile() && e.name.endsWith('.json')) out.push(full);
  }
  return out;
}

/** Parses and validates one scenario's JSON text. */
export function parseScenario(text: string): { scenario?: Scenario; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problems: [`not valid JSON: ${(err as Error).message}`] };
  }
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) return { problems: parsed.error.issues.map(describeIssue) };
  return { scenario: parsed.data, problems: [] };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map(String).join('.') : '(scenario)';
  return `${where}: ${issue.message}`;
}

export async function loadScenarios(paths: readonly string[]): Promise<LoadResult> {
  const { files, problems } = await findScenarioFiles(paths);
  const scenarios: LoadedScenario[] = [];
  for (const file of files) {
    const { scenario, problems: found } = parseScenario(await readFile(file, 'utf8'));
    if (scenario) scenarios.push({ file, scenario });
    else problems.push({ file, problems: found });
  }
  return { scenarios, problems };
}
