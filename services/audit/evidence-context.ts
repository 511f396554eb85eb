/**
 * What the evidence side of the audit service (search, export, the maturity report, documentary
 * evidence, the auditor's page, performance) is built from. The log side (the Merkle log,
 * checkpoints, proofs: auditlog's store) is given as `LogFacts`.
 */
import type { RequestHandler } from 'express';
import { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import { authenticate } from '../../shared/auth/middleware.js';
import { DirectoryView } from '../directory/view.js';
import { MpiView } from '../mpi/view.js';
import { DocumentaryStore } from './documentary.js';
import type { LogStatus } from './domain/page.js';
import { EvidenceReporter, type LogFacts } from './evidence.js';
import { PerformanceStore } from './performance.js';
import { SearchIndex } from './search-index.js';
import type { LogStore } from './store.js';
import { SubjectResolver } from './subjects.js';

/** The log's own facts for the page: checkpoint, last verification, size. */
export interface LogStatusSource {
  logStatus(): Promise<Omit<LogStatus, 'indexedThrough'>>;
}

export interface EvidenceContext {
  readonly index: SearchIndex;
  readonly subjects: SubjectResolver;
  readonly reporter: EvidenceReporter;
  readonly documents: DocumentaryStore;
  readonly performance: PerformanceStore;
  /** Takes the first performance summary now if none has been taken yet (the service's sampler; absent where nothing samples). */
  readonly firstPerformanceSummary?: () => Promise<void>;
  /** Relays the documentary evidence's change records to the audit stream (flushed after each attachment). */
  readonly relay: OutboxRelay;
  readonly logStatus: () => Promise<LogStatus>;
  /** `<audit service URL>/fhir`. */
  readonly baseUrl: string;
  readonly authenticate: RequestHandler;
  /** Whether a report's `partnership` names one the directory holds (a typo must not read as "no evidence"). */
  readonly directory: Pick<DirectoryView, 'organization'>;
}

export function createEvidenceContext(deps: ServiceDeps, log?: LogFacts & Partial<LogStatusSource>): EvidenceContext {
  const index = new SearchIndex(deps.redis, deps.keys);
  const documents = new DocumentaryStore(deps.redis, deps.keys);
  return {
    index,
    subjects: new SubjectResolver(new MpiView(deps.redis, deps.keys)),
    reporter: new EvidenceReporter(deps.redis, index, log, documents),
    documents,
    performance: new PerformanceStore(deps.redis, deps.keys),
    relay: new OutboxRelay(deps.redis, deps.keys, { log: deps.log }).watch(documents.outbox),
    logStatus: async () => {
      const [status, indexedThrough] = await Promise.all([log?.logStatus?.() ?? Promise.resolve({}), index.indexedThrough()]);
      return { ...status, ...(indexedThrough ? { indexedThrough } : {}) };
    },
    baseUrl: `${deps.config.urls.audit}/fhir`,
    authenticate: authenticate(deps.tokens.resolveKey, deps.tokens.expected),
    directory: new DirectoryView(deps.redis, deps.keys),
  };
}

/** The Merkle log's store as the report and the page read it. */
export function logFactsOf(store: LogStore): LogFacts & LogStatusSource {
  return {
    latestCheckpoint: () => store.latestCheckpoint(),
    async idAt(position) {
      return (await store.entriesAt(position, position + 1))[0]?.id;
    },
    async inclusionProof(streamId, treeSize) {
      const leafIndex = await store.positionOf(streamId);
      if (leafIndex === undefined || leafIndex >= treeSize) return undefined;
      const hashes = await store.inclusionProof(leafIndex, treeSize);
      return { leafIndex, treeSize, hashes: hashes.map((h) => h.toString('base64')) };
    },
    async logStatus() {
      const [checkpoint, verification, logSize] = await Promise.all([store.latestCheckpoint(), store.lastVerification(), store.size()]);
      return {
        ...(checkpoint ? { checkpoint } : {}),
        ...(verification
          ? { verification: { at: verification.at, size: verification.size, ok: verification.ok, root: verification.root, ...(verification.firstBadPosition !== undefined ? { firstBadPosition: verification.firstBadPosition } : {}) } }
          : {}),
        logSize,
      };
    },
  };
}
