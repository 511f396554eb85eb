/**
 * Running a search of agency records (domain/patient-search.ts plans it) against
 * the index: at most three reads of the search hash (roots, buckets, term lists,
 * the last with the CHI entries and the named records), then the records
 * themselves. Only records the reader may see are counted or paged: what the ISP
 * filters out is never revealed, not even as a number.
 */
import type { Patient } from 'fhir/r4.js';
import {
  bucketsToRead,
  listIds,
  matchingRecordIds,
  ownerOfRecordId,
  rootsToRead,
  termsOf,
  type PatientSearchPlan,
  type RecordSource,
} from './domain/patient-search.js';
import type { MpiStore } from './store.js';

export interface RecordSearchPage {
  /** Matching records the reader may see, this page of them. */
  readonly records: readonly Patient[];
  /** How many matching records the reader may see in all. */
  readonly total: number;
}

export interface RecordReader {
  /** Every agency id of the partnership (to tell a record id's owner). */
  readonly agencyIds: readonly string[];
  /** May the reader see records of this agency? */
  mayRead(ownerAgency: string): boolean;
}

export async function searchRecords(store: MpiStore, plan: PatientSearchPlan, reader: RecordReader): Promise<RecordSearchPage> {
  const sources = plan.clauses.flatMap((c) => c.sources);
  const roots = await store.getSearchFields(rootsToRead(plan));
  const buckets = await store.getSearchFields(bucketsToRead(plan, roots));
  const termsBySource = new Map(sources.map((s) => [s, termsOf(s, buckets)] as const));
  const named = [...new Set(sources.flatMap((s) => (s.kind === 'record' ? [s.id] : [])))];
  const chiKeys = [...new Set(sources.flatMap((s) => (s.kind === 'chi' ? [s.blockingKey] : [])))];
  const [lists, namedRecords, chiIds] = await Promise.all([
    store.getSearchFields([...new Set([...termsBySource.values()].flat())]),
    store.getRecords(named),
    // A CHI's blocking entry is never size-capped when read for itself (a CHI is one person).
    store.candidateIds(chiKeys.map((k) => [k]), Number.MAX_SAFE_INTEGER),
  ]);
  const existing = new Set(named.filter((_, i) => namedRecords[i] !== undefined));
  const byChi = new Map(chiKeys.map((k, i) => [k, chiIds[i] ?? []] as const));
  const idsOf = (source: RecordSource): readonly string[] => {
    switch (source.kind) {
      case 'record':
        return existing.has(source.id) ? [source.id] : [];
      case 'chi':
        return byChi.get(source.blockingKey) ?? [];
      default:
        return (termsBySource.get(source) ?? []).flatMap((field) => listIds(lists.get(field)));
    }
  };
  const visible = matchingRecordIds(plan, idsOf).filter((id) => {
    const owner = ownerOfRecordId(id, reader.agencyIds);
    return owner !== undefined && reader.mayRead(owner);
  });

  const loaded = new Map<string, Patient>();
  namedRecords.forEach((r) => r && loaded.set(r.id!, r));
  let matching = visible;
  if (plan.filters.length > 0) {
    // Gender and `:exact` are checked on the records themselves.
    await load(store, matching, loaded);
    matching = matching.filter((id) => {
      const record = loaded.get(id);
      return record !== undefined && plan.filters.every((f) => f(record));
    });
  }
  const pageIds = matching.slice(plan.offset, plan.offset + plan.count);
  await load(store, pageIds, loaded);
  return { records: pageIds.flatMap((id) => loaded.get(id) ?? []), total: matching.length };
}

async function load(store: MpiStore, ids: readonly string[], into: Map<string, Patient>): Promise<void> {
  const missing = ids.filter((id) => !into.has(id));
  const records = await store.getRecords(missing);
  records.forEach((r, i) => r && into.set(missing[i]!, r));
}
