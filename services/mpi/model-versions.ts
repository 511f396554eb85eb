/**
 * The matching model in use and every version the partnership estimated (MI-L5). Version 0
 * is the configured model (INFOSHARE_MATCH_MODEL_FILE, checked at start-up); each estimation
 * over the index adds version n+1 — the model with its weights, thresholds and term
 * frequencies, when, from how many records, why, by whom, and what the model predicted for
 * itself — and makes it the one in use, in one Lua script with its change record (no model
 * change without its audit record). Versions are never removed or rewritten.
 *
 * A new model applies to registrations from then on, and asks for a re-clustering pass that
 * decides the index again under it (workers/recluster.ts); nothing a reviewer decided changes.
 */
import type { Redis } from 'ioredis';
import { LuaScript } from '../../shared/redis/lua-script.js';
import { assertValidModel, type MatchModel } from './domain/model.js';
import { configuredSummary, estimatedSummary, type ModelSummary, type ModelVersion } from './domain/model-version.js';
import type { MpiKeys } from './keys.js';

export interface ModelInUse {
  readonly version: number;
  readonly model: MatchModel;
  readonly summary: ModelSummary;
}

/** Where registrations and `$match` get the model in use. */
export interface ModelSource {
  current(): Promise<ModelInUse>;
}

// Adds a version and makes it the one in use, with its change record, atomically.
// KEYS: versions hash, active version string, audit outbox
// ARGV: version JSON (without its number), then the change record's field/values
const ADD_VERSION_LUA = new LuaScript(`
local version = redis.call('HLEN', KEYS[1]) + 1
redis.call('HSET', KEYS[1], tostring(version), ARGV[1])
redis.call('SET', KEYS[2], tostring(version))
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 2, #ARGV))
return version
`);

export class ModelVersions implements ModelSource {
  private readonly configured: ModelInUse;
  /** Parsed stored versions (a version never changes once written). */
  private readonly cache = new Map<number, ModelInUse>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: MpiKeys,
    configuredModel: MatchModel,
  ) {
    this.configured = { version: 0, model: configuredModel, summary: configuredSummary(configuredModel) };
  }

  /** The model in use: the latest estimated version, else the configured one. One GET when the version is cached. */
  async current(): Promise<ModelInUse> {
    const active = await this.redis.get(this.keys.activeModel);
    const version = active ? Number(active) : 0;
    if (version === 0) return this.configured;
    return (await this.get(version)) ?? this.configured;
  }

  async get(version: number): Promise<ModelInUse | undefined> {
    if (version === 0) return this.configured;
    const cached = this.cache.get(version);
    if (cached) return cached;
    const stored = await this.read(version);
    if (!stored) return undefined;
    const inUse = { version, model: stored.model, summary: estimatedSummary(stored) };
    this.cache.set(version, inUse);
    return inUse;
  }

  /** Every version, oldest first, as summaries (the configured model first, as version 0). */
  async list(): Promise<ModelSummary[]> {
    const all = await this.redis.hgetall(this.keys.modelVersions);
    const versions = Object.entries(all)
      .map(([field, json]) => parseVersion(Number(field), json))
      .sort((a, b) => a.version - b.version);
    return [this.configured.summary, ...versions.map(estimatedSummary)];
  }

  /** Stores a new version and makes it the one in use, with its change record; returns its number. */
  async add(entry: Omit<ModelVersion, 'version'>, changeRecord: readonly string[]): Promise<number> {
    assertValidModel(entry.model);
    const version = await ADD_VERSION_LUA.run(
      this.redis,
      [this.keys.modelVersions, this.keys.activeModel, this.keys.outbox],
      [JSON.stringify(entry), ...changeRecord],
    );
    return Number(version);
  }

  /** Remembers that an estimation was refused with `records` in the index while `version` was in use. */
  async recordRefusal(version: number, records: number): Promise<void> {
    await this.redis.set(this.keys.modelRefusal, `${version}|${records}`);
  }

  /** The last refused estimation: the version in use then and the records in the index. */
  async lastRefusal(): Promise<{ readonly version: number; readonly records: number } | undefined> {
    const stored = await this.redis.get(this.keys.modelRefusal);
    if (!stored) return undefined;
    const [version, records] = stored.split('|').map(Number);
    return Number.isInteger(version) && Number.isInteger(records) ? { version: version!, records: records! } : undefined;
  }

  private async read(version: number): Promise<ModelVersion | undefined> {
    const json = await this.redis.hget(this.keys.modelVersions, String(version));
    return json ? parseVersion(version, json) : undefined;
  }
}

function parseVersion(version: number, json: string): ModelVersion {
  const stored = JSON.parse(json) as Omit<ModelVersion, 'version'>;
  // Written only after the same check; a hand-edited version is refused rather than used.
  assertValidModel(stored.model);
  return { ...stored, version };
}
