import { openQueue, startWorker } from '../../../shared/queue/queues.js';
import type { JobOrigin } from '../../../shared/queue/worker-runner.js';
import { queueSiteEachTest } from '../../../test/queue-site.js';
import { until } from '../../../test/hub-process-control.js';
import { RECLUSTER_QUEUE, ReclusterRequests } from './recluster.js';

// The producer side of the re-clustering pass: every change to the index is looked at by a pass that starts after it.
const perTest = queueSiteEachTest('recluster');

const origin: JobOrigin = { requestId: 'req-1', agent: { agency: 'nhs-lothian' } };

function requests(): ReclusterRequests {
  const made = new ReclusterRequests(perTest.site, 300);
  perTest.closeAfterTest(() => made.close());
  return made;
}

function queue() {
  const q = openQueue(perTest.site, RECLUSTER_QUEUE);
  perTest.closeAfterTest(() => q.close());
  return q;
}

describe('asking for a re-clustering pass after a change', () => {
  it('coalesces the requests of many changes into one waiting pass', async () => {
    const asked = requests();
    await asked.request(origin);
    await asked.request(origin);
    await asked.request(origin);
    expect(await queue().getJobCounts('delayed', 'waiting', 'active')).toEqual({ delayed: 1, waiting: 0, active: 0 });
  });

  it('queues one more pass for a change made while a pass runs (it may have read the index before the change)', async () => {
    const asked = requests();
    await asked.request(origin);
    const q = queue();
    const [pending] = await q.getDelayed();
    // A pass that runs until the test lets it end, started at once rather than 300 s out.
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const worker = startWorker(perTest.site, RECLUSTER_QUEUE, () => running);
    perTest.closeAfterTest(() => worker.close());
    // Closers run last-first: a failing test lets the pass end before the worker is closed.
    perTest.closeAfterTest(async () => finish());
    await pending!.promote();
    await until('the pass to be running', async () => (await pending!.getState()) === 'active', 60_000);

    // Changes registered meanwhile: one pass more, after the running one, however many changes.
    await asked.request(origin);
    await asked.request(origin);
    const counts = await q.getJobCounts('delayed', 'active');
    expect(counts).toEqual({ delayed: 1, active: 1 });
    const [after] = await q.getDelayed();
    expect(after!.id).not.toBe(pending!.id);

    // Once it has ended, the next change joins the pass still waiting rather than adding another.
    finish();
    await until('the running pass to end', async () => (await q.getJobCounts('active')).active === 0, 60_000);
    await asked.request(origin);
    expect(await q.getJobCounts('delayed', 'active')).toEqual({ delayed: 1, active: 0 });
  });
});
