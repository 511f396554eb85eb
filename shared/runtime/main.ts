/**
 * Entry point for running ONE service per process (docker-compose, scaling out).
 * Loads the hub's config and the service's own (fails fast listing every
 * problem of both), connects to Redis (REDIS_URL required: a lone service never
 * starts its own Redis), verifies tokens as the service declares (its own
 * signing key, or the issuer's published JWKS), listens, and shuts down gracefully on
 * SIGINT/SIGTERM: stop accepting, close workers, then Redis.
 */
import { remoteJwksResolver } from '../auth/jwks-resolver.js';
import { ConfigError, loadConfig, loadConfigs } from '../config.js';
import { createLogger } from '../log.js';
import { connectRedis } from '../redis/connection.js';
import { buildServiceDeps, type ServiceModule } from './deps.js';
import { listen } from './listen.js';
import { closeWithin } from './shutdown.js';

export async function runServiceMain(module: ServiceModule): Promise<void> {
  let config, ownConfig;
  try {
    [config, ownConfig] = loadConfigs(process.env, [loadConfig, (env) => module.loadConfig(env)]);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(module.name, config.logLevel);
  if (!config.redisUrl) {
    log.fatal('REDIS_URL is not set: a service started on its own needs a Redis (use `npm start` to run the whole hub with its own Redis)');
    process.exit(2);
  }
  const redis = connectRedis(config.redisUrl);
  const resolveKey = module.tokenKeys === 'signing-key' ? undefined : remoteJwksResolver(config.token.jwksUrl, { logger: log });
  const service = await module.createService(await buildServiceDeps(config, redis, log, resolveKey), ownConfig);
  const server = await listen(service.app, config.ports[module.name], config.host);
  log.info({ url: config.urls[module.name], port: server.port }, `${module.name} listening`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const close = async () => {
      await server.close();
      await service.close();
    };
    process.exit((await closeWithin(close, redis, config.shutdownSeconds, log)) ? 0 : 1);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
