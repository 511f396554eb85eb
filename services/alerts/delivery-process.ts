/**
 * One delivery worker process, forked by the alerts service when
 * `INFOSHARE_ALERTS_DELIVERY_PROCESSES` asks for them (delivery-processes.ts):
 * the delivery worker and the audit relay, with the service's settings, and
 * nothing else. Stops on SIGTERM or when its parent goes away — then within
 * STOP_GRACE_MS whatever it was waiting for (a Redis that is gone or not
 * answering would otherwise hold a clean stop, and the process, forever).
 */
import { createLogger } from '../../shared/log.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { buildServiceDeps } from '../../shared/runtime/deps.js';
import { DELIVERY_PROCESS_SETTINGS, lowerOwnPriority, STOP_GRACE_MS, type DeliveryProcessSettings } from './delivery-processes.js';
import { createAlertsContext, startAlertsDeliveryWorker } from './module.js';

const settings = JSON.parse(process.env[DELIVERY_PROCESS_SETTINGS] ?? 'null') as DeliveryProcessSettings | null;
if (!settings?.hub.redisUrl) {
  process.stderr.write(`${DELIVERY_PROCESS_SETTINGS} with the hub's settings and its Redis URL is required: this process is started by the alerts service\n`);
  process.exit(2);
}
const log = createLogger('alerts-delivery', settings.hub.logLevel).child({ pid: process.pid });
// The alerts service that forked this process is gone (stopped or killed): so is the reason to run. Listened for
// before anything waits on Redis; a clean stop is tried, and the process ends by STOP_GRACE_MS in any case.
const running: { stop?: (why: string) => Promise<void> } = {};
process.once('disconnect', () => {
  setTimeout(() => {
    log.warn({ afterMs: STOP_GRACE_MS }, 'delivery worker process: its service is gone and the stop did not finish; exiting');
    process.exit(1);
  }, STOP_GRACE_MS).unref();
  if (running.stop) void running.stop('parent gone');
  else process.exit(0);
});
// A service gone before that listener was in place (the imports above load first, slowly on a busy machine) was
// never heard of: its channel is closed already, and the process would wait on a Redis that may be gone, for ever.
if (typeof process.send === 'function' && !process.connected) process.exit(0);
// Below the accepting process (INFOSHARE_ALERTS_DELIVERY_NICE): a sender's wait for "accepted" comes first.
lowerOwnPriority(settings.alerts.deliveryNice, log);
const redis = connectRedis(settings.hub.redisUrl);
const deps = await buildServiceDeps(settings.hub, redis, log);
const ctx = createAlertsContext(deps, settings.alerts);
ctx.relay.start();
const worker = await startAlertsDeliveryWorker(ctx, deps, settings.alerts);

let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ why }, 'delivery worker process stopping');
  await worker.close();
  // The producer handle dead-letter reports are queued through (opened only if one was).
  await ctx.deliveries.close();
  await ctx.relay.close();
  await redis.quit().catch(() => redis.disconnect());
  process.exit(0);
};
running.stop = stop;
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
