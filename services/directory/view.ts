/**
 * The directory's read-only view: the ONE file of the directory another
 * service may import (services never import each other otherwise).
 *
 * Services share one Redis, so another service reads the directory's data
 * straight from it — no extra HTTP hop, no token to fetch — but only through
 * here, so the directory's key layout (store.ts over resource-types.ts) stays
 * owned in one place and can change without breaking a reader. Nothing here
 * writes: writes go through the directory's API, validated and audited.
 *
 * It gives raw directory data; what a reader may pass on is its own decision,
 * under the ISP (shared/isp/registry.ts reads the agencies and ISPs through
 * this view as an `IspSource`).
 */
import type { CareTeam, Contract, Endpoint, Organization, PractitionerRole } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { IspSource } from '../../shared/isp/registry.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import type { ResourceOf, ResourceType } from '../../shared/store/search-params.js';
import { namedProfessionalsOf, practitionerRoleIdOf, type NamedProfessionalRole } from './domain/named-professionals.js';
import { directoryStore } from './store.js';

/** Page size when listing a whole type (the store's maximum). */
const PAGE = 1000;

/** A person's Named Person or Lead Professional as the directory names them now. */
export interface NamedProfessionalContact {
  readonly role: NamedProfessionalRole;
  /** The CareTeam that names them (`CareTeam/<id>`). */
  readonly careTeam: string;
  /** The participant's `member` reference, usually `PractitionerRole/<id>`. */
  readonly member: string;
  /** The PractitionerRole it names (its `telecom` is how to reach them), when the member is one the directory holds. */
  readonly practitionerRole?: PractitionerRole;
}

export class DirectoryView implements IspSource {
  // A true private field: a reader cannot reach the store (and its writes) through the view.
  readonly #store: ResourceStore;

  constructor(redis: Redis, keys: KeySpace) {
    this.#store = directoryStore(redis, keys);
  }

  /** Moves whenever an Organization or a Contract is written (one round trip). */
  async revision(): Promise<string> {
    const [organizations, contracts] = await Promise.all([this.#store.revision('Organization'), this.#store.revision('Contract')]);
    return `${organizations}|${contracts}`;
  }

  /** One Organization (an agency or a partnership) by id, or undefined. */
  async organization(id: string): Promise<Organization | undefined> {
    const [org] = await this.#store.readMany('Organization', [id]);
    return org;
  }

  /** Every Organization: the partnerships and their agencies. */
  organizations(): Promise<Organization[]> {
    return this.#searchAll('Organization', {});
  }

  /** Every Contract: the ISPs, signed or not. */
  contracts(): Promise<Contract[]> {
    return this.#searchAll('Contract', {});
  }

  /** Moves whenever an Endpoint is written (one round trip): a reader caching `endpointsOf` re-reads only then. */
  endpointsRevision(): Promise<string> {
    return this.#store.revision('Endpoint');
  }

  /** The Endpoints an agency manages (where it takes deliveries), whatever their status. */
  async endpointsOf(agencyId: string): Promise<Endpoint[]> {
    return this.#searchAll('Endpoint', { organization: `Organization/${agencyId}` });
  }

  /** PractitionerRoles by id, in order (undefined where there is none). */
  async practitionerRoles(ids: readonly string[]): Promise<(PractitionerRole | undefined)[]> {
    return this.#store.readMany('PractitionerRole', ids);
  }

  /** The CareTeams about a subject (`Patient/<id>`), whatever their status. */
  async careTeamsOf(subject: string): Promise<CareTeam[]> {
    return this.#searchAll('CareTeam', { subject });
  }

  /**
   * A subject's Named Person and Lead Professional, current at `now`, with
   * the PractitionerRoles that hold them (two round trips).
   */
  async namedProfessionalsFor(subject: string, now: Date = new Date()): Promise<NamedProfessionalContact[]> {
    const named = (await this.careTeamsOf(subject)).flatMap((team) =>
      namedProfessionalsOf(team, now).map((p) => ({ ...p, careTeam: `CareTeam/${team.id}` })),
    );
    const roleIds = named.map((p) => practitionerRoleIdOf(p.member));
    const roles = await this.#store.readMany('PractitionerRole', roleIds.filter((id): id is string => id !== undefined));
    const roleById = new Map(roles.flatMap((r) => (r?.id ? [[r.id, r] as const] : [])));
    return named.map(({ role, member, careTeam }, i) => {
      const practitionerRole = roleById.get(roleIds[i] ?? '');
      return { role, careTeam, member, ...(practitionerRole ? { practitionerRole } : {}) };
    });
  }

  async #searchAll<K extends ResourceType>(type: K, query: Readonly<Record<string, string>>): Promise<ResourceOf<K>[]> {
    const all: ResourceOf<K>[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.#store.search(type, { ...query, _count: String(PAGE), _offset: String(offset), _total: 'none' });
      all.push(...page.resources);
      if (page.resources.length < PAGE) break;
    }
    return all;
  }
}
