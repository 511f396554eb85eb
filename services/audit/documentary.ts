/**
 * Stores the documentary evidence auditors attach (`domain/documentary.ts`), each with its
 * change record in the same MULTI (the audit outbox of the `{audit}` slot): no attachment
 * stands without its record in the log.
 */
import type { DocumentReference } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { changeRecord, outboxKey, stageChangeRecord, type ChangeCause } from '../../shared/audit/outbox.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { documentaryEvidenceOf } from './domain/documentary.js';
import type { DocumentaryEvidence } from './domain/evidence-report.js';

const TAG = 'audit';

export class DocumentaryStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
  ) {}

  /** Hash: DocumentReference id → the stored resource (JSON). */
  get key(): string {
    return this.keys.key(TAG, 'evidence', 'documents');
  }

  /** The outbox the attachments' change records go to (the service's relay watches it). */
  get outbox(): string {
    return outboxKey(this.keys, TAG);
  }

  async add(resource: DocumentReference, id: string, cause: ChangeCause, now: Date = new Date()): Promise<DocumentReference> {
    documentaryEvidenceOf(resource, id);
    const stored: DocumentReference = { ...resource, id, meta: { versionId: '1', lastUpdated: now.toISOString() } };
    const multi = this.redis.multi();
    multi.hset(this.key, id, JSON.stringify(stored));
    stageChangeRecord(
      multi,
      this.keys,
      TAG,
      changeRecord(
        { requestId: cause.requestId, service: 'audit', agent: cause.agent },
        { subtype: 'create', action: 'C', entities: [{ reference: `DocumentReference/${id}`, role: 'domain-resource' }] },
        'audit-evidence-documents',
      ),
    );
    const results = await multi.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('documentary evidence was not stored');
    return stored;
  }

  async read(id: string): Promise<DocumentReference | undefined> {
    const raw = await this.redis.hget(this.key, id);
    return raw ? (JSON.parse(raw) as DocumentReference) : undefined;
  }

  async resources(): Promise<DocumentReference[]> {
    const all = await this.redis.hvals(this.key);
    return all.map((raw) => JSON.parse(raw) as DocumentReference).sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''));
  }

  async list(): Promise<DocumentaryEvidence[]> {
    return (await this.resources()).flatMap((r) => {
      try {
        return [documentaryEvidenceOf(r, r.id ?? '')];
      } catch {
        return [];
      }
    });
  }
}
