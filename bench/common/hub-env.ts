/**
 * The environment a benchmark starts its own hub with: a temp data directory, a private
 * redis-server (never a shared REDIS_URL, whose keys the run would mix with), load-test fsync,
 * quiet logs and tokens that outlast the run.
 */
export function benchHubEnv(dataDir: string, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    INFOSHARE_DATA_DIR: dataDir,
    INFOSHARE_REDIS_APPENDFSYNC: 'everysec',
    INFOSHARE_LOG_LEVEL: process.env.INFOSHARE_LOG_LEVEL ?? 'warn',
    INFOSHARE_TOKEN_TTL_SECONDS: '3600',
    ...overrides,
  };
  delete env.REDIS_URL;
  return env;
}
