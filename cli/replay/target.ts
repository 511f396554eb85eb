/**
 * Where a replay sends its requests: each service's base URL, the token
 * endpoint, and the Redis whose audit stream holds the evidence.
 */
import type { HubConfig, ServiceName } from '../../shared/config.js';
import { sendHttp } from '../../shared/client/http.js';

export interface ReplayTarget {
  readonly urls: Readonly<Record<ServiceName, string>>;
  /** The token endpoint; client assertions name it as `aud`, so it must be the URL the directory believes it has. */
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  /** The partnership signing key (demo key): only needed to forge expired / wrong-audience / wrong-issuer tokens. */
  readonly signingKeyFile: string;
  /** Redis holding the audit stream; without it, steps that expect criteria fail saying so. */
  readonly redisUrl: string | undefined;
  readonly keyPrefix: string;
}

export function targetFromConfig(config: HubConfig, redisUrl: string | undefined): ReplayTarget {
  return {
    urls: config.urls,
    tokenUrl: config.token.tokenUrl,
    jwksUrl: config.token.jwksUrl,
    signingKeyFile: config.token.signingKeyFile,
    redisUrl,
    keyPrefix: config.keyPrefix,
  };
}

/**
 * Asks the directory for its token endpoint (`/.well-known/smart-configuration`,
 * as SMART Backend Services clients do), so a directory reached under another
 * host name still gets assertions with the `aud` it expects. Falls back to the
 * given URL when the directory does not publish one.
 */
export async function discoverTokenUrl(directoryUrl: string, fallback: string): Promise<string> {
  try {
    const res = await sendHttp({ method: 'GET', url: `${directoryUrl}/.well-known/smart-configuration`, timeoutMs: 3000 });
    const endpoint = (res.body as { token_endpoint?: unknown } | undefined)?.token_endpoint;
    return res.status === 200 && typeof endpoint === 'string' ? endpoint : fallback;
  } catch {
    return fallback;
  }
}

/** Whether a service answers `GET /health`; the reason in words when not. */
export async function checkReachable(name: ServiceName, url: string): Promise<string | undefined> {
  try {
    const res = await sendHttp({ method: 'GET', url: `${url}/health`, timeoutMs: 3000 });
    return res.status === 200 ? undefined : `${name} at ${url} answered /health with ${res.status}`;
  } catch {
    return `${name} is not reachable at ${url}: start the hub (\`infoshare start\`) or replay with --spawn`;
  }
}
