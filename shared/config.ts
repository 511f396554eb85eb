/**
 * Typed configuration from the environment. Every variable is prefixed
 * `INFOSHARE_` except `REDIS_URL` (the usual name). `loadConfig` validates
 * everything at once and fails with every problem listed, so a mis-set
 * deployment is fixed in one go rather than one restart per typo.
 *
 * This file holds what the whole hub shares: Redis, where each service
 * listens and is reached, tokens, logging. A service's own settings live in
 * its `config.ts` (read with `parseSettings`); `loadConfigs` checks the hub's
 * and the services' together, so every problem is still reported at once.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Repository root, whether running from `shared/` under tsx/Jest or from `dist/shared/`. */
export const PROJECT_ROOT = findProjectRoot();

function findProjectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', '..') : path.resolve(here, '..');
}

export const SERVICE_NAMES = ['directory', 'mpi', 'alerts', 'plans', 'audit', 'agency-sim'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The partnership a hub serves when INFOSHARE_PARTNERSHIP is not set. */
export const DEFAULT_PARTNERSHIP = 'lothian-hscp';

/** The variable that sets one service's port on its own (`INFOSHARE_AGENCY_SIM_PORT` for agency-sim); it wins over the offset. */
export function portVariable(service: ServiceName): string {
  return `INFOSHARE_${service.toUpperCase().replace('-', '_')}_PORT`;
}

/**
 * The settings that put each named service on the given port (`INFOSHARE_<NAME>_PORT` each): how a hub
 * started on ports of the caller's choosing — free ones, another hub's — is told them, in one place.
 */
export function portSettings(ports: Readonly<Partial<Record<ServiceName, number>>>): Record<string, string> {
  return Object.fromEntries(SERVICE_NAMES.flatMap((service) => (ports[service] === undefined ? [] : [[portVariable(service), String(ports[service])]])));
}

export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  directory: 4000,
  mpi: 4001,
  alerts: 4002,
  plans: 4003,
  audit: 4004,
  'agency-sim': 4010,
};

/** The longest access-token lifetime a hub may be configured with; every service refuses a token claiming longer (shared/auth/access-token.ts). */
export const MAX_TOKEN_TTL_SECONDS = 3600;

const port = z.coerce.number().int().min(0).max(65535);

/** An Organization id (FHIR id syntax): a partnership's, in INFOSHARE_PARTNERSHIP and INFOSHARE_PEER_HUBS. */
const organizationId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'an Organization id (letters, digits, - and . only)');

/**
 * A service's port: its own variable if set, else its default port plus
 * INFOSHARE_PORT_OFFSET (so a second hub on the same machine moves every port
 * with one setting: offset 100 puts it on 4100-4110).
 */
function portOf(explicit: number | undefined, service: ServiceName, offset: number): number {
  return explicit ?? DEFAULT_PORTS[service] + offset;
}

const schema = z.object({
  REDIS_URL: z.string().url().optional(),
  INFOSHARE_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (no braces: hash tags are added by the code)')
    .default('is'),
  INFOSHARE_HOST: z.string().default('127.0.0.1'),
  INFOSHARE_PUBLIC_BASE: z.string().url().default('http://localhost'),
  INFOSHARE_PORT_OFFSET: z.coerce.number().int().min(0).max(60000).default(0),
  INFOSHARE_DIRECTORY_PORT: port.optional(),
  INFOSHARE_MPI_PORT: port.optional(),
  INFOSHARE_ALERTS_PORT: port.optional(),
  INFOSHARE_PLANS_PORT: port.optional(),
  INFOSHARE_AUDIT_PORT: port.optional(),
  INFOSHARE_AGENCY_SIM_PORT: port.optional(),
  INFOSHARE_DIRECTORY_URL: z.string().url().optional(),
  INFOSHARE_MPI_URL: z.string().url().optional(),
  INFOSHARE_ALERTS_URL: z.string().url().optional(),
  INFOSHARE_PLANS_URL: z.string().url().optional(),
  INFOSHARE_AUDIT_URL: z.string().url().optional(),
  INFOSHARE_AGENCY_SIM_URL: z.string().url().optional(),
  INFOSHARE_TOKEN_ISSUER: z.string().url().optional(),
  INFOSHARE_TOKEN_AUDIENCE: z.string().min(1).default('infoshare-hub'),
  INFOSHARE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(MAX_TOKEN_TTL_SECONDS).default(300),
  INFOSHARE_TOKEN_ALGORITHMS: z
    .string()
    .default('ES256')
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.enum(['ES256', 'ES384', 'RS256', 'RS384', 'PS256']))),
  INFOSHARE_SIGNING_KEY_FILE: z.string().default('fixtures/keys/DEMO-ONLY-partnership-signing.key.pem'),
  INFOSHARE_BODY_LIMIT: z.string().default('1mb'),
  INFOSHARE_SHUTDOWN_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  INFOSHARE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INFOSHARE_DATA_DIR: z.string().default('.data'),
  INFOSHARE_REDIS_APPENDFSYNC: z.enum(['always', 'everysec', 'no']).default('always'),
  INFOSHARE_PARTNERSHIP: organizationId.default(DEFAULT_PARTNERSHIP),
  INFOSHARE_PEER_HUBS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((p) => p.trim()).filter((p) => p !== ''))
    .pipe(z.array(organizationId)),
});

export interface HubConfig {
  readonly redisUrl: string | undefined;
  /** Namespace in front of every Redis key and queue (tests use their own). */
  readonly keyPrefix: string;
  readonly host: string;
  readonly ports: Readonly<Record<ServiceName, number>>;
  /** Base URL clients reach each service at (links in responses, the token URL and issuer). */
  readonly urls: Readonly<Record<ServiceName, string>>;
  /** Base URL services reach each other at (differs from `urls` inside docker-compose). */
  readonly internalUrls: Readonly<Record<ServiceName, string>>;
  readonly token: {
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
    readonly algorithms: readonly ('ES256' | 'ES384' | 'RS256' | 'RS384' | 'PS256')[];
    readonly signingKeyFile: string;
    /** The URL client assertions must name as `aud` (the public token endpoint). */
    readonly tokenUrl: string;
    /** Where services fetch the directory's JWKS (internal URL). */
    readonly jwksUrl: string;
  };
  readonly bodyLimit: string;
  readonly logLevel: z.infer<typeof schema>['INFOSHARE_LOG_LEVEL'];
  /** How long a stop (Ctrl-C, SIGTERM) waits for the services to close before it stops Redis regardless. */
  readonly shutdownSeconds: number;
  readonly dataDir: string;
  readonly redisAppendFsync: 'always' | 'everysec' | 'no';
  /** Which partnership this hub is, and which other partnerships' hubs it forwards to. */
  readonly partnership: PartnershipConfig;
}

/**
 * The partnership a hub serves (`INFOSHARE_PARTNERSHIP`, an Organization id in
 * its directory) and the partnerships that run hubs of their own
 * (`INFOSHARE_PEER_HUBS`): an agency of a peer partnership is served by that
 * partnership's hub, never by this one. Every other agency of the directory is
 * served here — so a hub with no peers (the default) serves every agency it
 * holds, as a single hub always has.
 */
export interface PartnershipConfig {
  readonly id: string;
  readonly peerHubs: readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the variables `schema` declares from the environment: the typed values,
 * or a ConfigError listing every problem (for a service's own `config.ts`).
 */
export function parseSettings<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

/** Reads one part of the configuration from the environment; throws a ConfigError listing its problems. */
export type ConfigLoader<T> = (env: NodeJS.ProcessEnv) => T;

/**
 * Runs every loader (the hub's, each service's) and throws one ConfigError
 * with the problems of all of them, so a mis-set deployment is told
 * everything in one go; otherwise the loaded parts, in order.
 */
export function loadConfigs<T extends readonly unknown[]>(env: NodeJS.ProcessEnv, loaders: { readonly [K in keyof T]: ConfigLoader<T[K]> }): T {
  const problems: string[] = [];
  const loaded = loaders.map((load) => {
    try {
      return load(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded as unknown as T;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const e = parseSettings(schema, env);
  const offset = e.INFOSHARE_PORT_OFFSET;
  const ports: Record<ServiceName, number> = {
    directory: portOf(e.INFOSHARE_DIRECTORY_PORT, 'directory', offset),
    mpi: portOf(e.INFOSHARE_MPI_PORT, 'mpi', offset),
    alerts: portOf(e.INFOSHARE_ALERTS_PORT, 'alerts', offset),
    plans: portOf(e.INFOSHARE_PLANS_PORT, 'plans', offset),
    audit: portOf(e.INFOSHARE_AUDIT_PORT, 'audit', offset),
    'agency-sim': portOf(e.INFOSHARE_AGENCY_SIM_PORT, 'agency-sim', offset),
  };
  const base = e.INFOSHARE_PUBLIC_BASE.replace(/\/$/, '');
  const urls = Object.fromEntries(SERVICE_NAMES.map((s) => [s, `${base}:${ports[s]}`])) as Record<ServiceName, string>;
  const overrides: Record<ServiceName, string | undefined> = {
    directory: e.INFOSHARE_DIRECTORY_URL,
    mpi: e.INFOSHARE_MPI_URL,
    alerts: e.INFOSHARE_ALERTS_URL,
    plans: e.INFOSHARE_PLANS_URL,
    audit: e.INFOSHARE_AUDIT_URL,
    'agency-sim': e.INFOSHARE_AGENCY_SIM_URL,
  };
  const internalUrls = Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, (overrides[s] ?? urls[s]).replace(/\/$/, '')]),
  ) as Record<ServiceName, string>;
  const issuer = e.INFOSHARE_TOKEN_ISSUER ?? `${urls.directory}/auth`;
  if (e.INFOSHARE_PEER_HUBS.includes(e.INFOSHARE_PARTNERSHIP)) {
    throw new ConfigError([`INFOSHARE_PEER_HUBS: names ${e.INFOSHARE_PARTNERSHIP}, the partnership this hub serves itself (INFOSHARE_PARTNERSHIP)`]);
  }
  return {
    redisUrl: e.REDIS_URL,
    keyPrefix: e.INFOSHARE_KEY_PREFIX,
    host: e.INFOSHARE_HOST,
    ports,
    urls,
    internalUrls,
    token: {
      issuer,
      audience: e.INFOSHARE_TOKEN_AUDIENCE,
      ttlSeconds: e.INFOSHARE_TOKEN_TTL_SECONDS,
      algorithms: e.INFOSHARE_TOKEN_ALGORITHMS,
      signingKeyFile: path.resolve(PROJECT_ROOT, e.INFOSHARE_SIGNING_KEY_FILE),
      tokenUrl: `${urls.directory}/auth/token`,
      jwksUrl: `${internalUrls.directory}/auth/jwks.json`,
    },
    bodyLimit: e.INFOSHARE_BODY_LIMIT,
    logLevel: e.INFOSHARE_LOG_LEVEL,
    shutdownSeconds: e.INFOSHARE_SHUTDOWN_SECONDS,
    dataDir: path.resolve(PROJECT_ROOT, e.INFOSHARE_DATA_DIR),
    redisAppendFsync: e.INFOSHARE_REDIS_APPENDFSYNC,
    partnership: { id: e.INFOSHARE_PARTNERSHIP, peerHubs: [...new Set(e.INFOSHARE_PEER_HUBS)] },
  };
}

/**
 * Does this hub serve the agencies of `partnershipId`? Every partnership but a
 * peer's: a peer hub serves its own agencies (tokens, raising, delivery), and
 * this hub only forwards to it.
 */
export function servesPartnership(config: PartnershipConfig, partnershipId: string | undefined): boolean {
  return partnershipId === undefined || !config.peerHubs.includes(partnershipId);
}
