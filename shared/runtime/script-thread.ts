/**
 * Starting a worker thread on one of the project's own modules, compiled or not: the
 * compiled `<name>.js` beside the caller when it exists (`npm start`, benchmarks), else
 * the `<name>.ts` source through tsx's loader (tests, `tsx`). CPU-heavy work — validating a
 * large Bundle, estimating a matching model — runs there so a service's event loop keeps
 * answering requests.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `callerUrl` is the caller's `import.meta.url`; `name` the module beside it, without extension;
 * `options` as `new Worker` takes them (`workerData`, …).
 */
export function startScriptThread(callerUrl: string, name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const compiled = new URL(`./${name}.js`, callerUrl);
  if (fs.existsSync(fileURLToPath(compiled))) return new Worker(compiled, options);
  const source = new URL(`./${name}.ts`, callerUrl);
  const require = createRequire(callerUrl);
  const tsxDir = fileURLToPath(new URL('.', pathToFileURL(require.resolve('tsx/package.json'))));
  const tsxApi = pathToFileURL(`${tsxDir}dist/esm/api/index.mjs`).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
