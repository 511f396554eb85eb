/**
 * The alerts service's read-only view: the ONE file of the alerts service
 * another service may import. It answers "which alerts were raised about this
 * person, by whom, to whom, and when were they closed" — what the plans
 * service's integrated chronology shows. Services share one Redis, so it reads
 * the alerts keys directly, but only through the alerts store (keys.ts holds
 * the layout). Nothing here writes.
 *
 * It gives raw data; what a reader may pass on is its own decision (the
 * chronology shows an alert only to its sender and the agencies it went to).
 */
import type { Flag } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import { AlertsKeys } from './keys.js';
import { AlertStore } from './store.js';

/** One alert's life as a timeline needs it. */
export interface AlertHistory {
  /** The hub's id of the alert (`Flag/<id>` at the alerts service). */
  readonly flagId: string;
  /** The agency that raised it. */
  readonly sender: string;
  readonly alertCategory: string;
  readonly purpose: string;
  readonly status: 'active' | 'inactive';
  /** When the raise was accepted (ISO). */
  readonly raisedAt: string;
  /** When it was closed (ISO), for a closed alert. */
  readonly closedAt?: string;
  /** The agencies the raise went to. */
  readonly recipients: readonly string[];
  /** The alert's text (Flag.code.text), for a one-line summary. */
  readonly text?: string;
}

export class AlertsView {
  // A true private field: a reader cannot reach the store (and its writes) through the view.
  readonly #store: AlertStore;

  constructor(redis: Redis, keys: KeySpace) {
    this.#store = new AlertStore(redis, new AlertsKeys(keys));
  }

  /** Every alert about an index Person, oldest raise first. */
  async alertsAbout(personId: string): Promise<AlertHistory[]> {
    const flags = await this.#store.flagsOfPerson(personId);
    const raises = await Promise.all(flags.map((f) => this.#store.message(f.raisedBy)));
    return flags
      .map((flag, i): AlertHistory => {
        const resource = flag.flag as Flag | undefined;
        const raisedAt = raises[i]?.acceptedAt ?? resource?.period?.start ?? flag.updatedAt;
        const closedAt = flag.status === 'inactive' ? (resource?.period?.end ?? flag.updatedAt) : undefined;
        const text = resource?.code?.text ?? resource?.code?.coding?.[0]?.display;
        return {
          flagId: flag.id,
          sender: flag.sender,
          alertCategory: flag.alertCategory,
          purpose: flag.purpose,
          status: flag.status,
          raisedAt,
          ...(closedAt ? { closedAt } : {}),
          recipients: flag.recipients,
          ...(text ? { text } : {}),
        };
      })
      .sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
  }
}
