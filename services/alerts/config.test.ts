import { ConfigError } from '../../shared/config.js';
import { loadAlertsConfig } from './config.js';

describe('the alerts service’s settings', () => {
  it('defaults to a 24 h retry window, 10 s delivery timeout, 5 s sweep and 256 kB messages', () => {
    expect(loadAlertsConfig({})).toMatchObject({ retryWindowMs: 86_400_000, deliveryTimeoutMs: 10_000, sweepIntervalMs: 5_000, bodyLimit: '256kb' });
  });

  it('defaults to a 1 s first retry delay and a 30 s delivery job lock (BullMQ’s own), and reads shorter ones', () => {
    expect(loadAlertsConfig({})).toMatchObject({ retryBaseDelayMs: 1_000, lockDurationMs: 30_000 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_RETRY_BASE_DELAY: '100ms', INFOSHARE_ALERTS_LOCK_DURATION: '2s' })).toMatchObject({ retryBaseDelayMs: 100, lockDurationMs: 2_000 });
  });

  it('runs the delivery worker in the service’s own process unless delivery processes are asked for', () => {
    expect(loadAlertsConfig({})).toMatchObject({ deliveryProcesses: 0 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_DELIVERY_PROCESSES: '2' })).toMatchObject({ deliveryProcesses: 2 });
    expect(() => loadAlertsConfig({ INFOSHARE_ALERTS_DELIVERY_PROCESSES: '-1' })).toThrow(ConfigError);
  });

  it('runs delivery worker processes 10 below the service’s CPU priority by default, 0-19 allowed', () => {
    expect(loadAlertsConfig({})).toMatchObject({ deliveryNice: 10 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_DELIVERY_NICE: '0' })).toMatchObject({ deliveryNice: 0 });
    expect(() => loadAlertsConfig({ INFOSHARE_ALERTS_DELIVERY_NICE: '20' })).toThrow(ConfigError);
  });

  it('lets 512 delivery attempts be in flight per process and batches linger 5 ms by default', () => {
    expect(loadAlertsConfig({})).toMatchObject({ deliveryConcurrency: 512, batchLingerMs: 5 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_DELIVERY_CONCURRENCY: '128' })).toMatchObject({ deliveryConcurrency: 128 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_BATCH_LINGER: '20ms' })).toMatchObject({ batchLingerMs: 20 });
  });

  it('validates incoming messages on one worker thread by default, on the event loop with 0 threads', () => {
    expect(loadAlertsConfig({})).toMatchObject({ validationThreads: 1 });
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_VALIDATION_THREADS: '0' })).toMatchObject({ validationThreads: 0 });
    expect(() => loadAlertsConfig({ INFOSHARE_ALERTS_VALIDATION_THREADS: 'two' })).toThrow(ConfigError);
  });

  it('reads durations with their unit', () => {
    expect(loadAlertsConfig({ INFOSHARE_ALERTS_RETRY_WINDOW: '90m', INFOSHARE_ALERTS_DELIVERY_TIMEOUT: '500ms' })).toMatchObject({ retryWindowMs: 5_400_000, deliveryTimeoutMs: 500 });
  });

  it('reports every bad setting at once', () => {
    try {
      loadAlertsConfig({ INFOSHARE_ALERTS_RETRY_WINDOW: 'a day', INFOSHARE_ALERTS_SWEEP_INTERVAL: '0s', INFOSHARE_ALERTS_BODY_LIMIT: 'huge' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(3);
    }
  });
});
