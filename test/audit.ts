/**
 * The audit service for integration tests: a test directory (real Redis under
 * a unique prefix, the demo partnership loaded, tokens from the real token
 * endpoint) with the audit service built on the same deps, plus helpers to
 * write exchanges to the audit stream and wait for the log to take them in.
 * Not used by the service.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { ExchangeRecord } from '../shared/audit/exchange.js';
import { RedisAuditSink } from '../shared/audit/audit-client.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { loadAuditConfig, type AuditConfig } from '../services/audit/config.js';
import type { AuditContext } from '../services/audit/context.js';
import { auditService, createAuditContext } from '../services/audit/module.js';

export interface TestAudit {
  readonly app: Express;
  readonly dir: TestDirectory;
  readonly ctx: AuditContext;
  readonly config: AuditConfig;
  /** Appends `count` made-up exchanges to the audit stream; resolves with their AuditEvent ids. */
  record(count: number, label?: string): Promise<string[]>;
  /** Resolves once the log holds every entry of the audit stream (and a checkpoint covers them, if `signed`). */
  settled(options?: { signed?: boolean }): Promise<number>;
  /** `GET path` as a demo agency (nhs-lothian holds the auditor scope; police-scotland-e-division does not). */
  get(agencyId: string, path: string): Promise<request.Response>;
  close(): Promise<void>;
}

export async function startTestAudit(env: Readonly<Record<string, string>> = {}, options: { readonly startService?: boolean } = {}): Promise<TestAudit> {
  const dir = await startTestDirectory(env);
  const config = loadAuditConfig({ INFOSHARE_AUDIT_CHECKPOINT_SECONDS: '0.1', ...env });
  const ctx = await createAuditContext(dir.deps, config);
  const service = options.startService === false ? undefined : await auditService.createService(dir.deps, config);
  const sink = new RedisAuditSink(dir.redis, dir.keys);
  const tokens = new Map<string, Promise<string>>();
  const token = (agencyId: string) => {
    let t = tokens.get(agencyId);
    if (!t) tokens.set(agencyId, (t = dir.token(agencyId)));
    return t;
  };
  let made = 0;
  return {
    get app() {
      if (!service) throw new Error('this test audit service was started without its HTTP app');
      return service.app;
    },
    dir,
    ctx,
    config,
    record(count, label = 'exchange') {
      const exchanges: ExchangeRecord[] = Array.from({ length: count }, () => exchange(`${label}-${made++}`));
      return sink.recordMany(exchanges);
    },
    async settled({ signed = true } = {}) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [length, size, latest] = await Promise.all([dir.redis.xlen(ctx.keys.stream), ctx.store.size(), ctx.store.latestCheckpoint()]);
        if (size >= length && (!signed || (latest?.size ?? 0) >= size)) return size;
        if (Date.now() > deadline) throw new Error(`the log holds ${size} of ${length} stream entries, latest checkpoint ${latest?.size ?? 'none'}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async get(agencyId, path) {
      if (!service) throw new Error('no HTTP app');
      return request(service.app).get(path).set({ Authorization: `Bearer ${await token(agencyId)}` });
    },
    async close() {
      await service?.close();
      await dir.close();
    },
  };
}

/** A made-up read exchange of one agency (what the log holds does not depend on its kind). */
export function exchange(requestId: string): ExchangeRecord {
  return {
    requestId,
    service: 'mpi',
    type: 'rest',
    subtype: 'read',
    action: 'R',
    outcome: '0',
    httpStatus: 200,
    method: 'GET',
    path: `/fhir/Patient/${requestId}`,
    agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian' },
    subject: `Patient/${requestId}`,
    entities: [{ reference: `Patient/${requestId}`, role: 'data' }],
    criteria: ['MI-L3'],
  };
}
