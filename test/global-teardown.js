// Stops the redis-server started by global-setup.js and removes its data directory.
import fs from 'node:fs';

export default async function globalTeardown() {
  const state = globalThis.__INFOSHARE_TEST_REDIS__;
  if (!state) return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    timer.unref();
    state.child.once('exit', () => { clearTimeout(timer); resolve(); });
    state.child.kill('SIGTERM');
  });
  fs.rmSync(state.dir, { recursive: true, force: true });
}
