/**
 * The audit log on a real Redis: the service consumes the audit stream into
 * the Merkle tree (every entry once, in stream order), signs checkpoints an
 * auditor can verify with the partnership's public key, and answers inclusion
 * and consistency proofs that verify — and refuses bad questions clearly.
 */
import type { OperationOutcome, Parameters } from 'fhir/r4.js';
import { canonicalEntry, eventOfEntry, parseCanonicalEntry } from '../../shared/audit/audit-entry.js';
import { vocabularyDocument } from '../../shared/audit/vocabulary.js';
import { readAuditEntries } from '../../shared/audit/audit-client.js';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { noteVerifier, openCheckpoint } from './domain/checkpoint.js';
import { leafHashOfText, rootOf, verifyConsistency, verifyInclusion } from './domain/merkle.js';
import { parseProofBundle, verifyProofBundle } from './domain/proof-bundle.js';
import { LOG_CONSUMER_GROUP } from './keys.js';
import { createLogAppender } from './module.js';
import type { ConsistencyAnswer } from './proofs.js';

const AUDITOR = 'nhs-lothian';
const NOT_AN_AUDITOR = 'police-scotland-e-division';

let audit: TestAudit;

beforeAll(async () => {
  audit = await startTestAudit({ INFOSHARE_AUDIT_CHECKPOINT_EVERY: '50', INFOSHARE_AUDIT_BATCH_SIZE: '64' });
});

afterAll(async () => {
  await audit.close();
});

/** Every stream entry's leaf hash, in stream order: the tree the log must hold. */
async function streamLeaves(of: TestAudit = audit): Promise<{ ids: string[]; leaves: Buffer[] }> {
  const ids: string[] = [];
  const leaves: Buffer[] = [];
  let sinceId: string | undefined;
  for (;;) {
    const page = await readAuditEntries(of.dir.redis, of.dir.keys, { count: 1000, ...(sinceId ? { sinceId } : {}) });
    for (const { id, entry } of page) {
      ids.push(id);
      leaves.push(leafHashOfText(canonicalEntry(entry, id)));
    }
    if (page.length < 1000) return { ids, leaves };
    sinceId = page[page.length - 1]!.id;
  }
}

const param = (p: Parameters, name: string) => p.parameter?.filter((x) => x.name === name) ?? [];

describe('the log', () => {
  it('holds every audit stream entry once, in stream order, and its root is the RFC 9162 root of them', async () => {
    await audit.record(700, 'first');
    const size = await audit.settled();
    const { ids, leaves } = await streamLeaves();
    expect(size).toBe(ids.length);
    expect((await audit.ctx.store.rootAt(size)).equals(rootOf(leaves))).toBe(true);
    // Positions map back to stream ids both ways, across tiles.
    for (const i of [0, 255, 256, 511, size - 1]) {
      expect(await audit.ctx.store.positionOf(ids[i]!)).toBe(i);
      const [entry] = await audit.ctx.store.entriesAt(i, i + 1);
      expect(entry?.id).toBe(ids[i]);
    }
    expect(await audit.ctx.store.positionOf('1-0')).toBeUndefined();
  });

  it('signs checkpoints that open with the partnership public key, for this log, at the log root', async () => {
    const latest = (await audit.ctx.store.latestCheckpoint())!;
    const verifier = noteVerifier(audit.ctx.signer.origin, audit.dir.signingKey.publicKey);
    const opened = openCheckpoint(latest.note, verifier, audit.ctx.signer.origin);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.checkpoint.size).toBe(latest.size);
    expect(opened.checkpoint.rootHash.equals(await audit.ctx.store.rootAt(latest.size))).toBe(true);
    // Every N entries: more than one checkpoint for 700 entries at N = 50.
    expect((await audit.ctx.store.allCheckpoints()).length).toBeGreaterThan(5);
  });

  it('appends nothing twice while another appender races the service', async () => {
    const before = await audit.settled();
    const second = createLogAppender(audit.ctx, audit.dir.deps);
    await audit.record(300, 'while-racing');
    await second.appender.catchUp();
    await second.close();
    const size = await audit.settled();
    const { ids, leaves } = await streamLeaves(audit);
    expect(size).toBe(ids.length);
    expect(size).toBe(before + 300);
    expect((await audit.ctx.store.rootAt(size)).equals(rootOf(leaves))).toBe(true);
  });
});

describe('proofs over HTTP', () => {
  it('gives an inclusion proof that verifies against the signed checkpoint', async () => {
    const [id] = await audit.record(1, 'proved');
    await audit.settled();
    const res = await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof`);
    expect(res.status).toBe(200);
    const p = res.body as Parameters;
    const leafIndex = param(p, 'leafIndex')[0]!.valueInteger!;
    const treeSize = param(p, 'treeSize')[0]!.valueInteger!;
    const hashes = param(p, 'hash').map((h) => Buffer.from(h.valueBase64Binary!, 'base64'));
    const note = param(p, 'checkpoint')[0]!.valueString!;
    const entry = param(p, 'entry')[0]!.valueString!;
    const opened = openCheckpoint(note, noteVerifier(audit.ctx.signer.origin, audit.dir.signingKey.publicKey), audit.ctx.signer.origin);
    if (!opened.ok) throw new Error(opened.problem.detail);
    expect(opened.checkpoint.size).toBe(treeSize);
    expect(verifyInclusion(leafIndex, treeSize, leafHashOfText(entry), hashes, opened.checkpoint.rootHash)).toBe(true);
    // The leaf's bytes (layout 4) name the AuditEvent the proof is of, and hold its event as stored (references and all),
    // which expands to the AuditEvent the log serves.
    const parsed = parseCanonicalEntry(entry);
    expect(parsed).toMatchObject({ layout: 4, id });
    expect(parsed.entry.event).toBe((await audit.ctx.store.leafById(id!))!.entry!.event);
    const served = await audit.get(AUDITOR, `/fhir/AuditEvent/${id}`);
    expect(served.status).toBe(200);
    expect({ ...eventOfEntry(parsed.entry), id }).toEqual(served.body);
  });

  it('gives a proof bundle that verifies offline, and fails once the entry in it is altered', async () => {
    const [id] = await audit.record(1, 'bundled');
    await audit.settled();
    const res = await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$proof-bundle`);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toContain('attachment');
    const bundle = parseProofBundle(res.body);
    const verifier = noteVerifier(audit.ctx.signer.origin, audit.dir.signingKey.publicKey);
    expect(verifyProofBundle(bundle, verifier, audit.ctx.signer.origin).ok).toBe(true);
    const altered = { ...bundle, entry: { ...bundle.entry, canonical: bundle.entry.canonical.replace('"outcome":"0"', '"outcome":"4"') } };
    expect(altered.entry.canonical).not.toBe(bundle.entry.canonical);
    expect(verifyProofBundle(altered, verifier, audit.ctx.signer.origin).ok).toBe(false);
    // Nor does it pass for another AuditEvent: the leaf names its own.
    const renamed = { ...bundle, entry: { ...bundle.entry, id: '1-0' } };
    expect(verifyProofBundle(renamed, verifier, audit.ctx.signer.origin)).toEqual({ ok: false, problem: `the entry's canonical bytes are of AuditEvent ${id}, not 1-0` });
  });

  it('proves a kept checkpoint is consistent with the grown log', async () => {
    const kept = (await audit.ctx.store.latestCheckpoint())!;
    await audit.record(130, 'later');
    await audit.settled();
    const keptRes = await audit.get(AUDITOR, `/log/checkpoint?size=${kept.size}`);
    expect(keptRes.status).toBe(200);
    expect(keptRes.text).toBe(kept.note);
    const res = await audit.get(AUDITOR, `/log/consistency?from=${kept.size}`);
    expect(res.status).toBe(200);
    const answer = res.body as ConsistencyAnswer;
    expect(answer.to).toBeGreaterThan(kept.size);
    const verifier = noteVerifier(audit.ctx.signer.origin, audit.dir.signingKey.publicKey);
    const newer = openCheckpoint(answer.toCheckpoint!, verifier, audit.ctx.signer.origin);
    if (!newer.ok) throw new Error(newer.problem.detail);
    const proof = answer.hashes.map((h) => Buffer.from(h, 'base64'));
    expect(verifyConsistency(kept.size, answer.to, Buffer.from(kept.rootHash, 'base64'), newer.checkpoint.rootHash, proof)).toBe(true);
  });

  it('accepts a kept signed checkpoint as the proof target', async () => {
    const [id] = await audit.record(1, 'against-kept');
    await audit.settled();
    const kept = (await audit.ctx.store.latestCheckpoint())!;
    const res = await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof?checkpoint=${encodeURIComponent(kept.note)}`);
    expect(res.status).toBe(200);
    expect(param(res.body as Parameters, 'treeSize')[0]!.valueInteger).toBe(kept.size);
  });

  it('serves the audit vocabulary with which an auditor expands a proved entry (layout 4) into the AuditEvent the log serves', async () => {
    const [id] = await audit.record(1, 'expanded');
    await audit.settled();
    const vocabulary = await audit.get(AUDITOR, '/log/vocabulary');
    expect(vocabulary.status).toBe(200);
    expect(vocabulary.headers['content-type']).toContain('application/json');
    const { fragments, version } = JSON.parse(vocabulary.text) as { fragments: unknown[]; version: number };
    expect(vocabulary.headers['x-vocabulary-version']).toBe(String(version));
    expect((await audit.get(AUDITOR, '/log/vocabulary?version=1')).text).toBe(vocabularyDocument(1));
    // As an auditor would with jq: every {"#": n} in the proved entry's event replaced by fragment n.
    const proof = (await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof`)).body as Parameters;
    const stored = (JSON.parse(param(proof, 'entry')[0]!.valueString!) as { event: unknown }).event;
    const expand = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(expand)
        : value !== null && typeof value === 'object'
          ? '#' in value
            ? fragments[(value as { '#': number })['#']]
            : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]))
          : value;
    expect(JSON.stringify(stored)).toContain('{"#":');
    expect({ ...(expand(stored) as object), id }).toEqual((await audit.get(AUDITOR, `/fhir/AuditEvent/${id}`)).body);
  });

  it('serves the verifier key that opens the checkpoints', async () => {
    const res = await audit.get(AUDITOR, '/log/key');
    expect(res.status).toBe(200);
    expect(res.text.trim()).toBe(audit.ctx.signer.verifierKey);
    expect(res.text.startsWith(`${audit.ctx.signer.origin}+`)).toBe(true);
  });
});

describe('bad questions', () => {
  const diagnostics = (res: { body: unknown }) => ((res.body as OperationOutcome).issue[0]?.details?.text ?? '');

  it('refuses a token without the auditor scope (403) and no token (401)', async () => {
    expect((await audit.get(NOT_AN_AUDITOR, '/log/checkpoint')).status).toBe(403);
    const { default: request } = await import('supertest');
    expect((await request(audit.app).get('/log/checkpoint')).status).toBe(401);
  });

  it('refuses sizes that are not whole numbers, or given twice', async () => {
    const wrongType = await audit.get(AUDITOR, '/log/consistency?from=abc');
    expect(wrongType.status).toBe(400);
    expect(diagnostics(wrongType)).toContain('from must be a tree size');
    expect((await audit.get(AUDITOR, '/log/consistency?from=1&from=2')).status).toBe(400);
    expect((await audit.get(AUDITOR, '/log/consistency')).status).toBe(400);
  });

  it('refuses a vocabulary version that is not a whole number from 1 (400), or not made yet (404)', async () => {
    for (const bad of ['0', 'one', '1.5', '-1']) expect((await audit.get(AUDITOR, `/log/vocabulary?version=${bad}`)).status).toBe(400);
    expect((await audit.get(AUDITOR, '/log/vocabulary?version=1&version=1')).status).toBe(400);
    expect((await audit.get(AUDITOR, '/log/vocabulary?version=999')).status).toBe(404);
  });

  it('refuses from after to, and a size beyond the tree', async () => {
    const backwards = await audit.get(AUDITOR, '/log/consistency?from=20&to=10');
    expect(backwards.status).toBe(422);
    expect(diagnostics(backwards)).toContain('after to');
    const beyond = await audit.get(AUDITOR, '/log/consistency?from=1&to=99999999');
    expect(beyond.status).toBe(422);
    expect(diagnostics(beyond)).toContain('no tree of 99999999');
    expect((await audit.get(AUDITOR, '/log/checkpoint?size=3')).status).toBe(404);
  });

  it('refuses a checkpoint with a bad signature, from another log, or not a checkpoint at all', async () => {
    const [id] = await audit.record(1, 'bad-checkpoint');
    await audit.settled();
    const kept = (await audit.ctx.store.latestCheckpoint())!;
    const ask = (checkpoint: string) => audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof?checkpoint=${encodeURIComponent(checkpoint)}`);

    const lines = kept.note.split('\n');
    const forged = [lines[0], String(kept.size), Buffer.alloc(32, 7).toString('base64'), ...lines.slice(3)].join('\n');
    const badSignature = await ask(forged);
    expect(badSignature.status).toBe(422);
    expect(diagnostics(badSignature)).toContain('does not verify');

    const otherLog = audit.ctx.signer.sign(kept.size, Buffer.from(kept.rootHash, 'base64')).replaceAll(audit.ctx.signer.origin, 'elsewhere.example/log');
    const foreign = await ask(otherLog);
    expect(foreign.status).toBe(422);

    const garbage = await ask('not\na checkpoint');
    expect(garbage.status).toBe(400);
    expect((await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof?checkpoint=size`)).status).toBe(400);
    expect((await audit.get(AUDITOR, '/fhir/AuditEvent/1-0/$inclusion-proof')).status).toBe(404);
  });

  it('refuses an inclusion proof of an entry the audit stream no longer holds (409), saying so', async () => {
    const [id] = await audit.record(1, 'deleted-later');
    await audit.settled();
    expect((await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof`)).status).toBe(200);
    await audit.dir.redis.xdel(audit.ctx.keys.stream, id!);
    const gone = await audit.get(AUDITOR, `/fhir/AuditEvent/${id}/$inclusion-proof`);
    expect(gone.status).toBe(409);
    expect(diagnostics(gone)).toContain('the audit stream no longer holds it (deleted)');
  });

  it('audits the refusals like any exchange', async () => {
    const res = await audit.get(AUDITOR, '/log/consistency?from=20&to=10');
    const event = await audit.dir.auditOf(String(res.headers['x-request-id']));
    expect(event?.outcome).toBe('4');
    expect(event?.subtype?.some((s) => s.code === '$consistency-proof')).toBe(true);
  });
});

describe('a log whose service was down', () => {
  let down: TestAudit;

  beforeAll(async () => {
    down = await startTestAudit({ INFOSHARE_AUDIT_BATCH_SIZE: '100' }, { startService: false });
  });

  afterAll(async () => {
    await down.close();
  });

  it('takes in, when it comes back, what was written meanwhile and what it had read but not appended', async () => {
    const first = createLogAppender(down.ctx, down.dir.deps);
    await down.record(150, 'before');
    const before = await first.appender.catchUp();
    await first.close();

    // While it is down: entries are written, and some are read by the group but never appended (a crash).
    await down.record(250, 'while-down');
    await down.dir.redis.xreadgroup('GROUP', LOG_CONSUMER_GROUP, 'log', 'COUNT', 40, 'STREAMS', down.ctx.keys.stream, '>');

    const back = createLogAppender(down.ctx, down.dir.deps);
    back.appender.start();
    const size = await down.settled({ signed: false });
    await back.close();
    const { ids } = await streamLeaves(down);
    expect(before).toBeGreaterThanOrEqual(150);
    expect(size).toBe(ids.length);
    expect(size).toBe(before + 250);
    const pending = (await down.dir.redis.xpending(down.ctx.keys.stream, LOG_CONSUMER_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('appends nothing twice when two appenders race', async () => {
    const a = createLogAppender(down.ctx, down.dir.deps);
    const b = createLogAppender(down.ctx, down.dir.deps);
    await down.record(600, 'raced');
    await Promise.all([a.appender.catchUp(), b.appender.catchUp()]);
    await Promise.all([a.close(), b.close()]);
    const { ids, leaves } = await streamLeaves(down);
    const size = await down.ctx.store.size();
    expect(size).toBe(ids.length);
    expect((await down.ctx.store.rootAt(size)).equals(rootOf(leaves))).toBe(true);
  });
});
