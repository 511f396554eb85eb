/**
 * Redis SIGKILLed at the exact instant of one delivery step (issue 11, item 11): a proxy in front of a
 * redis-server of the test's own (test/redis-answer-proxy.ts) lets the step's command through and loses
 * Redis's answer; Redis is then killed and restarted from its AOF, and the hub process
 * (test/hub-process.ts) sends the command again, as ioredis does after a reconnect. Each test prints one
 * ledger line (test/delivery-ledger.ts). Apart from test/alerts-reliability.int.test.ts so that neither
 * suite runs near the test runner's stall watchdog on a loaded machine.
 */
import { connectRedis } from '../shared/redis/connection.js';
import { books, exactlyOnce, FAST, owedOf, recipientsOf, Sender, setBehaviour, settle, within } from './alerts-reliability.js';
import { HUB_PROCESS_TEST_MS, startHubProcess, stopHubProcess, until, type HubProcess } from './hub-process-control.js';
import { uniquePrefix } from './redis.js';
import { startRedisAnswerProxy } from './redis-answer-proxy.js';
import { startRedisProcess } from './redis-process.js';

describe('alert delivery when Redis dies between a step and its answer (real processes)', () => {
  // Redis killed at the worst instant of one delivery step: the step's command has run (and is in the AOF: `appendfsync
  // always`) but its answer never reached the client, which sends the command again once Redis is back (ioredis
  // re-sends unanswered commands). Each step must come to the same thing the second time (a proxy loses the answer).
  // The step's command is named with the alert's message id wherever it carries it: the probe's own records (the
  // audit relay copying "Delivered to … and acknowledged" a moment after the probe settled) must not be taken for it.
  it.each([
    ['the receiver has remembered the delivery token (its replay check)', (): string[] => ['{agency-sim}:jti:'], undefined],
    ['the receiver has stored the message', (messageId: string): string[] => ['{agency-sim}:msg:', messageId], undefined],
    ['the hub has recorded the acknowledgement', (messageId: string): string[] => ['and acknowledged', messageId], undefined],
    [
      'the hub has recorded a failed attempt to retry',
      (messageId: string): string[] => ['could not take the message now (transient-error', messageId],
      { mode: 'transient', forMs: 1_500 },
    ],
  ] as const)('Redis SIGKILLed the moment %s, before the answer got back: delivered exactly once, no dead letter', async (_step, stepCommand, behaviour) => {
    // Its data live in its own redis-server, removed with it.
    const p = uniquePrefix('rel-step');
    const server = await startRedisProcess('always');
    const proxy = await startRedisAnswerProxy(server.url);
    const own = connectRedis(server.url);
    own.on('error', () => {});
    let hub: HubProcess | undefined;
    try {
      hub = await startHubProcess(p, { redisUrl: proxy.url, env: FAST });
      const sender = new Sender(hub);
      await sender.registerSubjects();
      const probe = await sender.raise(0);
      expect(probe.status).toBe(200);
      const probeOwed = await owedOf(own, p, [probe]);
      await until('the probe delivered', async () => (await books(own, p, probeOwed)).hub.every((d) => d.state === 'acknowledged'), 30_000);
      const recipients = await recipientsOf(own, p, probe.messageId);
      if (behaviour) for (const agency of recipients) await setBehaviour(hub, agency, behaviour);

      const held = proxy.holdAnswerTo(...stepCommand(sender.messageIdOf(1)));
      const raised = await sender.raise(1);
      expect(raised.status).toBe(200);
      const { answered } = await within(held, 30_000, `the command of the step "${_step}" reaching Redis`);
      await within(answered, 10_000, `Redis answering the step "${_step}"`);
      await server.kill();
      await server.restart();

      const owed = await owedOf(own, p, [raised]);
      expect(owed).toHaveLength(6);
      const figures = await settle(`Redis SIGKILLed the moment ${_step}`, own, p, owed);
      expect(figures).toMatchObject(exactlyOnce(owed.length));
    } finally {
      if (hub) await stopHubProcess(hub);
      own.disconnect();
      await proxy.close();
      await server.stop();
    }
  }, HUB_PROCESS_TEST_MS);
});
