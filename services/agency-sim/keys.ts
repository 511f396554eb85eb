/**
 * Every Redis key of the agency simulator, in one place, under one hash tag
 * `{agency-sim}`: the simulator is a stand-in for the agencies' own systems,
 * so none of its state mixes with the hub's. One tag lets a single script store
 * a message and count its receipt together.
 */
import type { KeySpace } from '../../shared/redis/connection.js';

const TAG = 'agency-sim';

export class AgencySimKeys {
  constructor(private readonly space: KeySpace) {}

  /** Set: the agencies that have state here (what a full reset clears). */
  get agencies(): string {
    return this.space.key(TAG, 'agencies');
  }
  /** Hash: message id → the received message with when it first arrived (JSON). */
  messages(agency: string): string {
    return this.space.key(TAG, 'msg', agency);
  }
  /** Hash: message id → how many times it was delivered (a count above 1 is a duplicate delivery). */
  receiveCounts(agency: string): string {
    return this.space.key(TAG, 'count', agency);
  }
  /** Hash: message id → when it was last delivered (epoch ms). */
  lastReceived(agency: string): string {
    return this.space.key(TAG, 'last', agency);
  }
  /** Hash: message id → the id of the receiving call that last counted it (a call re-sent after a Redis crash counts once). */
  receipts(agency: string): string {
    return this.space.key(TAG, 'receipts', agency);
  }
  /** List: message ids in the order they first arrived. */
  order(agency: string): string {
    return this.space.key(TAG, 'order', agency);
  }
  /** Hash: counters of what happened to deliveries (accepted, duplicates, refused, …). */
  stats(agency: string): string {
    return this.space.key(TAG, 'stats', agency);
  }
  /** Hash: messages per batch request → how many such requests arrived (batched delivery). */
  batchSizes(agency: string): string {
    return this.space.key(TAG, 'batch-sizes', agency);
  }
  /** String: the highest inbox sequence number a pull has taken (`POST /agencies/<id>/pull` continues after it). */
  pulledThrough(agency: string): string {
    return this.space.key(TAG, 'pulled', agency);
  }
  /** String: the behaviour the agency was told to show (JSON); absent = answer ok. */
  behaviour(agency: string): string {
    return this.space.key(TAG, 'behaviour', agency);
  }
  /**
   * String with expiry: a delivery token id seen before by one receiver (replay protection), kept
   * until the token could no longer verify. Parts URI-encoded so a `:` cannot collide.
   */
  deliveryJti(receiver: string, jti: string): string {
    return this.space.key(TAG, 'jti', encodeURIComponent(receiver), encodeURIComponent(jti));
  }
  /** Every key of one agency except its remembered token ids (a reset never re-opens a replay window). */
  agencyState(agency: string): string[] {
    return [this.messages(agency), this.receiveCounts(agency), this.lastReceived(agency), this.order(agency), this.stats(agency), this.behaviour(agency), this.pulledThrough(agency), this.batchSizes(agency), this.receipts(agency)];
  }
}
