#!/usr/bin/env node
// The `infoshare` command: runs the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('infoshare: the CLI is not built yet. Run `npm run build` (or `npm start`, which builds first).\n');
  process.exit(2);
}
await import(entry.href);
