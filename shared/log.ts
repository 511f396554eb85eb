/** JSON logs (pino). Services log through this, never `console.log`. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level: string = process.env.INFOSHARE_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: ['req.headers.authorization', 'client_assertion', 'access_token'], censor: '[redacted]' },
  });
}
