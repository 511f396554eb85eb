/**
 * No test or hook gives itself less time than Jest's default (`testTimeout` in jest.config.js): a timeout of its
 * own is for a test that needs MORE. A lower one is the first thing to fail on a slower or busier machine — 63 tests
 * and hooks had 30-60 s, written when the default was 30 s, beside a default raised to 90 s because hubs started in
 * `beforeAll` had taken over 30 s on a loaded 2-core machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const JEST_CALLS = new Set(['it', 'test', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach']);

/** Every `it`/`test`/hook call in `source` whose last argument, its timeout, is a number below `bound`: `line: name(ms)`. */
function timeoutsBelow(source: string, bound: number): string[] {
  const file = ts.createSourceFile('t.ts', source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && JEST_CALLS.has(node.expression.text) && node.arguments.length >= 2) {
      const last = node.arguments[node.arguments.length - 1]!;
      if (ts.isNumericLiteral(last) && Number(last.text) < bound) {
        found.push(`${file.getLineAndCharacterOfPosition(last.getStart()).line + 1}: ${node.expression.text}(${last.text} ms)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return ['node_modules', 'dist', '.data', '.git'].includes(entry.name) ? [] : testFiles(path.join(dir, entry.name));
    return entry.name.endsWith('.test.ts') ? [path.join(dir, entry.name)] : [];
  });
}

describe('test timeouts', () => {
  it('finds a test, a hook and a nested test with a timeout below the bound, and nothing else', () => {
    const source = [
      "beforeAll(async () => { await start(); }, 60_000);",
      "describe('d', () => {",
      "  it('short', async () => {}, 30_000);",
      "  it('long', async () => {}, 120_000);",
      "  it('default', async () => { await until('x', check, 5_000); });",
      "  test('two', () => {}, 2);",
      '});',
    ].join('\n');
    expect(timeoutsBelow(source, 90_000)).toEqual(['1: beforeAll(60000 ms)', '3: it(30000 ms)', '6: test(2 ms)']);
  });

  it('none of the suite’s tests or hooks gives itself less time than the default', async () => {
    const config = ((await import(pathToFileURL(path.join(ROOT, 'jest.config.js')).href)) as { default: { testTimeout: number } }).default;
    expect(config.testTimeout).toBeGreaterThanOrEqual(90_000);
    const files = testFiles(ROOT);
    expect(files.length).toBeGreaterThan(100);
    const low = files.flatMap((file) => timeoutsBelow(fs.readFileSync(file, 'utf8'), config.testTimeout).map((at) => `${path.relative(ROOT, file)}:${at}`));
    expect(low).toEqual([]);
  });
});
