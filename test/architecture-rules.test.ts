/**
 * The architecture rules (.dependency-cruiser.cjs) refuse what they promise to: each rule is run
 * against a small tree of files that breaks it, so a config change that silently stops a rule
 * from matching (a path regex gone wrong) fails here rather than letting violations through.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

let dir: string;

/** Writes a tree (path → source) in a fresh directory with the project's tsconfig and rules. */
function tree(files: Record<string, string>): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-rules-'));
  fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  for (const [file, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), source);
  }
}

/** The violations dependency-cruiser reports, as `rule: from → to`. */
function violations(): string[] {
  const run = spawnSync(process.execPath, [DEPCRUISE, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'services', 'shared'], { cwd: dir, encoding: 'utf8' });
  const result = JSON.parse(run.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('architecture rules', () => {
  it('refuse a cycle, shared code importing a service, and a service importing another beyond its view', () => {
    tree({
      'shared/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'shared/b.ts': "import { a } from './a.js';\nimport { keys } from '../services/mpi/keys.js';\nexport const b = () => [a, keys];\n",
      'services/mpi/keys.ts': "export const keys = 1;\n",
      'services/alerts/routes.ts': "import { store } from '../directory/store.js';\nimport { view } from '../directory/view.js';\nexport const r = [store, view];\n",
      'services/directory/store.ts': 'export const store = 1;\n',
      'services/directory/view.ts': 'export const view = 1;\n',
    });
    expect(violations()).toEqual([
      'no-circular: shared/a.ts → shared/b.ts',
      'services-meet-only-through-views: services/alerts/routes.ts → services/directory/store.ts',
      'shared-imports-no-service: shared/b.ts → services/mpi/keys.ts',
    ]);
  });

  it('refuse a worker calling operations/, and I/O in a pure module', () => {
    tree({
      'services/mpi/workers/load.ts': "import { register } from '../operations/register.js';\nexport const w = register;\n",
      'services/mpi/operations/register.ts': 'export const register = 1;\n',
      'services/mpi/domain/rule.ts': "import fs from 'node:fs';\nimport { save } from '../store.js';\nexport const rule = [fs, save];\n",
      'services/mpi/store.ts': 'export const save = 1;\n',
      'shared/isp/evaluator.ts': "import { readFileSync } from 'node:fs';\nexport const e = readFileSync;\n",
    });
    expect(violations()).toEqual([
      'pure-modules-do-no-io: services/mpi/domain/rule.ts → fs',
      'pure-modules-do-no-io: services/mpi/domain/rule.ts → services/mpi/store.ts',
      'pure-modules-do-no-io: shared/isp/evaluator.ts → fs',
      'workers-call-no-http-operations: services/mpi/workers/load.ts → services/mpi/operations/register.ts',
    ]);
  });
});
