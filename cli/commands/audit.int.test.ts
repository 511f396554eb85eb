/**
 * `infoshare audit` as an auditor uses it, against a real Redis and a
 * listening directory and audit service: keep a checkpoint, let the log grow,
 * verify consistency and inclusion from outside over HTTP; download a proof
 * bundle and verify it offline with the partnership's published key; verify
 * the whole log on the hub's host — and see each fail once the log or the
 * bundle is tampered with. And `infoshare evidence`, the auditor's report from
 * the same service.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publicJwks } from '../../shared/auth/keys.js';
import { listen, reserveFreePorts, type Listening } from '../../shared/runtime/listen.js';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { testRedisUrl } from '../../test/redis.js';
import { auditCommand } from './audit.js';
import { evidenceCommand } from './evidence.js';

let audit: TestAudit;
let servers: Listening[] = [];
let dir: string;
const savedEnv = { ...process.env };

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

beforeAll(async () => {
  const [directoryPort, auditPort] = await reserveFreePorts(2);
  const env = {
    INFOSHARE_DIRECTORY_PORT: String(directoryPort),
    INFOSHARE_AUDIT_PORT: String(auditPort),
    INFOSHARE_PUBLIC_BASE: 'http://127.0.0.1',
    INFOSHARE_AUDIT_CHECKPOINT_EVERY: '20',
  };
  audit = await startTestAudit(env);
  servers = [await listen(audit.dir.app, directoryPort!, '127.0.0.1'), await listen(audit.app, auditPort!, '127.0.0.1')];
  // The CLI reads its configuration (URLs, Redis, key prefix) from the environment, as on an auditor's machine.
  Object.assign(process.env, env, { REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: audit.dir.keys.prefix });
  dir = mkdtempSync(path.join(os.tmpdir(), 'infoshare-audit-cli-'));
});

afterAll(async () => {
  process.env = savedEnv;
  for (const s of servers) await s.close();
  await audit.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether a kept file is one of the checkpoints the log signed (the log is live: the CLI's own requests grow it). */
async function isSignedCheckpointOfTheLog(note: string): Promise<boolean> {
  const size = Number(note.split('\n')[1]);
  return (await audit.ctx.store.checkpointsAt(size)).some((c) => c.note === note);
}

describe('infoshare audit', () => {
  it('keeps a checkpoint, then verifies from outside that the grown log is consistent with it and holds an entry', async () => {
    await audit.record(50, 'before');
    await audit.settled();
    const kept = path.join(dir, 'kept.checkpoint');
    const c = io();
    expect(await auditCommand(['checkpoint', '--out', kept], c.io)).toBe(0);
    expect(await isSignedCheckpointOfTheLog(readFileSync(kept, 'utf8'))).toBe(true);

    const [id] = await audit.record(70, 'after');
    await audit.settled();
    const v = io();
    const saved = path.join(dir, 'latest.checkpoint');
    expect(await auditCommand(['verify', '--checkpoint', kept, '--entry', id!, '--save', saved], v.io)).toBe(0);
    const text = v.out.join('\n');
    expect(text).toContain('✔ consistent');
    expect(text).toContain(`✔ AuditEvent ${id} is entry`);
    expect(text).not.toContain('✘');
    expect(await isSignedCheckpointOfTheLog(readFileSync(saved, 'utf8'))).toBe(true);
  });

  it('refuses a kept checkpoint that was altered', async () => {
    const kept = path.join(dir, 'altered.checkpoint');
    const note = (await audit.ctx.store.latestCheckpoint())!.note;
    writeFileSync(kept, note.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) - 1}\n`));
    const v = io();
    expect(await auditCommand(['verify', '--checkpoint', kept], v.io)).toBe(1);
    expect(v.out.join('\n')).toContain('✘ kept checkpoint');
  });

  it('downloads a proof bundle that verifies offline with the published key, and not once altered', async () => {
    const [id] = await audit.record(1, 'bundled');
    await audit.settled();
    const file = path.join(dir, 'entry.proof.json');
    expect(await auditCommand(['bundle', id!, '--out', file], io().io)).toBe(0);
    const jwks = path.join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify(publicJwks([audit.dir.signingKey])));
    const ok = io();
    expect(await auditCommand(['verify', '--bundle', file, '--key', jwks], ok.io)).toBe(0);
    expect(ok.out.join('\n')).toContain(`✔ AuditEvent ${id} is entry`);

    const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry: { canonical: string } };
    bundle.entry.canonical = bundle.entry.canonical.replace('"outcome":"0"', '"outcome":"8"');
    writeFileSync(file, JSON.stringify(bundle));
    const bad = io();
    expect(await auditCommand(['verify', '--bundle', file, '--key', jwks], bad.io)).toBe(1);
    expect(bad.out.join('\n')).toContain('✘');
  });

  it('verifies the whole log on the hub host, and names the first bad position once an entry is deleted from the audit stream', async () => {
    const good = io();
    expect(await auditCommand(['verify'], good.io)).toBe(0);
    const size = await audit.ctx.store.size();
    expect(good.out.join('\n')).toContain(`entries     ${size}`);
    expect(good.err.join('\n')).not.toContain('former layout');
    expect((await audit.ctx.store.lastVerification())?.ok).toBe(true);

    const position = 5;
    const [id] = await audit.ctx.store.idsAt(position, position + 1);
    await audit.dir.redis.xdel(audit.ctx.keys.stream, id!);
    const bad = io();
    expect(await auditCommand(['verify'], bad.io)).toBe(1);
    expect(bad.out.join('\n')).toContain(`first bad position ${position}`);
    expect(bad.out.join('\n')).toContain(`stream entry ${id!}) is missing from the audit stream: deleted`);
    expect((await audit.ctx.store.lastVerification())).toMatchObject({ ok: false, firstBadPosition: position });
  });

  it('says so when the log still holds the former layout\'s copy of its entries, which verification no longer reads', async () => {
    const former = audit.ctx.keys.formerEntryCopyPatterns()[0]!.replace('*', '0');
    await audit.dir.redis.set(former, 'a copy of tile 0 as the former layout kept it');
    const out = io();
    await auditCommand(['verify'], out.io);
    await audit.dir.redis.del(former);
    expect(out.err.join('\n')).toContain('former layout');
    expect(out.err.join('\n')).toContain(audit.ctx.keys.formerEntryCopyPatterns()[0]!);
  });

  it('says what is wrong with the command line', async () => {
    await expect(auditCommand(['verify', '--entry', 'x'], io().io)).rejects.toThrow('--entry needs the checkpoint');
    await expect(auditCommand(['nonsense'], io().io)).rejects.toThrow('unknown subcommand');
  });
});

describe('infoshare evidence', () => {
  it('writes the maturity evidence report as JSON naming the checkpoint it was computed at, and as CSV with a row per cell', async () => {
    await audit.record(10, 'evidence');
    await audit.settled();
    const json = io();
    expect(await evidenceCommand(['--format', 'json'], json.io)).toBe(0);
    const report = JSON.parse(json.out.join('')) as { checkpoint?: { size?: number } };
    expect(report.checkpoint?.size).toBeGreaterThan(0);

    const out = path.join(dir, 'evidence.csv');
    const csv = io();
    expect(await evidenceCommand(['--format', 'csv', '--out', out], csv.io)).toBe(0);
    expect(csv.err.join('\n')).toContain(`to ${out}`);
    const rows = readFileSync(out, 'utf8').trim().split(/\r?\n/);
    // A header, then the Annex B grid: 9 areas × 5 levels.
    expect(rows.length).toBeGreaterThanOrEqual(1 + 45);
  });

  it('says in words why the audit service refused a question (a date that is not one), not as raw JSON', async () => {
    const e = io();
    expect(await evidenceCommand(['--since', 'yesterday'], e.io)).toBe(1);
    expect(e.err).toEqual(["The audit service answered 400: 'yesterday' is not a date for 'since' (YYYY, YYYY-MM-DD or an instant)"]);
    expect(e.out).toEqual([]);
  });

  it('refuses an unknown format and a PDF without --out, before asking the hub anything', async () => {
    await expect(evidenceCommand(['--format', 'docx'], io().io)).rejects.toThrow('--format must be one of');
    await expect(evidenceCommand(['--format', 'pdf'], io().io)).rejects.toThrow('--format pdf needs --out FILE');
  });
});

describe('infoshare audit and evidence, pointed at a hub the environment does not name', () => {
  let hub: { directory: string; audit: string };
  beforeAll(async () => {
    hub = { directory: `http://127.0.0.1:${process.env.INFOSHARE_DIRECTORY_PORT}`, audit: `http://127.0.0.1:${process.env.INFOSHARE_AUDIT_PORT}` };
    // An auditor's machine whose environment names no running hub: only --directory / --audit say where it is.
    const [nothingListens] = await reserveFreePorts(1);
    process.env.INFOSHARE_DIRECTORY_PORT = String(nothingListens);
    process.env.INFOSHARE_AUDIT_PORT = String(nothingListens);
  });

  it('audit checkpoint signs in at --directory and checks the checkpoint with that hub’s published keys', async () => {
    const kept = path.join(dir, 'remote.checkpoint');
    const c = io();
    expect(await auditCommand(['checkpoint', '--out', kept, '--audit', hub.audit, '--directory', hub.directory], c.io)).toBe(0);
    expect(await isSignedCheckpointOfTheLog(readFileSync(kept, 'utf8'))).toBe(true);
  });

  it('evidence signs in at --directory and writes the report', async () => {
    const out = path.join(dir, 'remote-evidence.json');
    const c = io();
    expect(await evidenceCommand(['--format', 'json', '--out', out, '--audit', hub.audit, '--directory', hub.directory], c.io)).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveProperty('checkpoint');
  });

  it('without --directory, evidence says the hub is not reachable and how to point at one', async () => {
    const c = io();
    expect(await evidenceCommand(['--format', 'json', '--audit', hub.audit], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/^The hub is not reachable \(.+\): start it with `infoshare start` \(or pass --audit \/ --directory <url>\)$/);
  });
});
