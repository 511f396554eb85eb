/**
 * `infoshare audit …`: the auditor's tools for the hub's Merkle log.
 *
 *   audit verify                       re-derive the whole log from its entries (the hub's Redis) and check
 *                                      every checkpoint: size, root, first bad position
 *   audit verify --checkpoint FILE     from outside the hub, over HTTP: the current log is consistent with
 *                                      the checkpoint you kept, and the --entry ids are in it
 *   audit verify --bundle FILE         offline: a downloaded proof bundle
 *   audit checkpoint --out FILE        keep the latest signed checkpoint (checked first)
 *   audit bundle <AuditEvent id> --out FILE   download an entry's proof bundle
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { keyObjectFromJwk } from '../../shared/auth/keys.js';
import { refusalReason } from '../../shared/client/http.js';
import { demoAgencyToken, tokenUrlFor } from '../demo-token.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { runningKeyPrefix } from '../../shared/redis/hub-note.js';
import { findRunningRedis } from '../../shared/redis/server.js';
import { buildServiceDeps } from '../../shared/runtime/deps.js';
import { loadAuditConfig } from '../../services/audit/config.js';
import { noteVerifier, openCheckpoint, parseVerifierKey, signatureKeyIds, type Checkpoint, type NoteVerifier } from '../../services/audit/domain/checkpoint.js';
import { leafHashOfText, verifyConsistency, verifyInclusion } from '../../services/audit/domain/merkle.js';
import { parseCanonicalEntry } from '../../shared/audit/audit-entry.js';
import { parseProofBundle, verifyProofBundle } from '../../services/audit/domain/proof-bundle.js';
import type { VerificationReport } from '../../services/audit/domain/verification.js';
import { verifyStoredLog } from '../../services/audit/log-verify.js';
import { createAuditContext } from '../../services/audit/module.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';

const AUDITOR_SCOPE = 'system/AuditEvent.read';

export async function auditCommand(args: string[], io: Io = processIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'verify':
      return verifyCommand(rest, io);
    case 'checkpoint':
      return checkpointCommand(rest, io);
    case 'bundle':
      return bundleCommand(rest, io);
    default:
      throw new UsageError(`unknown subcommand "${sub ?? ''}": \`audit verify\`, \`audit checkpoint\` or \`audit bundle\``, 'audit');
  }
}

const REMOTE_OPTIONS = {
  audit: { type: 'string' },
  directory: { type: 'string' },
  agency: { type: 'string', default: 'nhs-lothian' },
  key: { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs('audit', args, {
    ...REMOTE_OPTIONS,
    checkpoint: { type: 'string' },
    entry: { type: 'string', multiple: true },
    save: { type: 'string' },
    bundle: { type: 'string' },
  });
  if (values.bundle && values.checkpoint) throw new UsageError('--bundle and --checkpoint are two different checks: give one', 'audit');
  if (values.bundle) return verifyBundleFile(values.bundle, values.key, io);
  if (values.checkpoint) return verifyAgainstKept(values, io);
  if (values.entry?.length) throw new UsageError('--entry needs the checkpoint you kept: --checkpoint FILE', 'audit');
  return verifyWholeLog(Boolean(values.json), io);
}

/** The whole log, re-derived from the hub's Redis. */
async function verifyWholeLog(json: boolean, io: Io): Promise<number> {
  const found = loadConfig();
  const url = await findRunningRedis(found);
  if (!url) {
    io.err('No Redis to read the log from: set REDIS_URL, or start the hub (`infoshare start`)');
    return EXIT_FAILURE;
  }
  const config = loadConfig({ ...process.env, INFOSHARE_KEY_PREFIX: runningKeyPrefix(found, process.env) });
  const redis = connectRedis(url);
  try {
    const deps = await buildServiceDeps(config, redis, createLogger('audit-verify', 'warn'));
    const ctx = await createAuditContext(deps, loadAuditConfig());
    const report = await verifyStoredLog(redis, ctx.keys, ctx.store, ctx.signer.verifier, ctx.signer.origin);
    await ctx.store.saveVerification({
      at: new Date().toISOString(),
      size: report.size,
      root: report.root,
      ok: report.ok,
      ...(report.firstBadPosition !== undefined ? { firstBadPosition: report.firstBadPosition } : {}),
      ...(report.problems[0] ? { problem: report.problems[0] } : {}),
    });
    io.out(json ? JSON.stringify({ origin: ctx.signer.origin, ...report }, null, 2) : formatReport(ctx.signer.origin, report));
    if (await ctx.store.holdsFormerEntryCopies()) {
      const patterns = ctx.keys.formerEntryCopyPatterns();
      // On stderr, so `--json` output stays one document.
      io.err(
        [
          `ℹ this log was written with the former layout and still holds its own copy of every entry (${patterns.join(', ')}):`,
          '  verification reads the audit stream and no longer these; delete them to free their memory, e.g.',
          ...patterns.map((p) => `  redis-cli --scan --pattern '${p}' | xargs -r redis-cli unlink`),
        ].join('\n'),
      );
    }
    return report.ok ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

export function formatReport(origin: string, r: VerificationReport): string {
  return [
    `${r.ok ? '✔' : '✘'} audit log ${origin}`,
    `  entries     ${r.size}${r.claimedSize !== r.size ? ` (the log claims ${r.claimedSize})` : ''}`,
    `  root        ${r.root}`,
    `  checkpoints ${r.checkpointsChecked} checked`,
    ...(r.ok ? ['  every audit stream entry re-hashed and its id checked; every checkpoint signed by the partnership key and matching the entries'] : [`  first bad position ${r.firstBadPosition ?? 'unknown'}`, ...r.problems.map((p) => `  ✘ ${p}`)]),
  ].join('\n');
}

interface RemoteValues {
  readonly audit?: string;
  readonly agency: string;
  readonly key?: string;
  readonly checkpoint?: string;
  readonly entry?: string[];
  readonly save?: string;
  readonly json?: boolean;
}

/** From outside the hub: the log now is consistent with the kept checkpoint, and holds the given entries. */
async function verifyAgainstKept(values: RemoteValues, io: Io): Promise<number> {
  const keptNote = await readFile(values.checkpoint!, 'utf8');
  const origin = keptNote.split('\n', 1)[0] ?? '';
  const http = await auditorClient(values);
  const verifier = await logVerifier(origin, keptNote, values.key, http.directory);
  const lines: string[] = [];
  let ok = true;
  const check = (good: boolean, text: string) => {
    ok &&= good;
    lines.push(`${good ? '✔' : '✘'} ${text}`);
  };

  const kept = open(keptNote, verifier, origin);
  check(kept.ok, kept.ok ? `kept checkpoint: ${origin}, ${kept.checkpoint.size} entries, root ${kept.checkpoint.rootHash.toString('base64')}` : `kept checkpoint: ${kept.problem}`);
  if (!kept.ok) return finish(io, lines, ok);

  const latestNote = await http.getText('/log/checkpoint');
  const latest = open(latestNote, verifier, origin);
  check(latest.ok, latest.ok ? `current checkpoint: ${latest.checkpoint.size} entries, root ${latest.checkpoint.rootHash.toString('base64')}` : `current checkpoint: ${latest.problem}`);
  if (!latest.ok) return finish(io, lines, ok);
  const [m, n] = [kept.checkpoint.size, latest.checkpoint.size];
  if (n < m) {
    check(false, `the log now has ${n} entries, fewer than the ${m} of the kept checkpoint: entries were removed`);
    return finish(io, lines, ok);
  }
  const consistency = (await http.getJson(`/log/consistency?from=${m}&to=${n}`)) as { hashes: string[] };
  const consistent = verifyConsistency(m, n, kept.checkpoint.rootHash, latest.checkpoint.rootHash, consistency.hashes.map((h) => Buffer.from(h, 'base64')));
  check(consistent, consistent ? `consistent: the log of ${n} entries extends the kept one of ${m} (${consistency.hashes.length} hashes)` : `NOT consistent: the log of ${n} entries does not extend the kept one of ${m} — its history was rewritten`);

  for (const id of values.entry ?? []) {
    const res = await http.get(`/fhir/AuditEvent/${encodeURIComponent(id)}/$inclusion-proof?checkpoint=${n}`);
    if (res.status !== 200) {
      check(false, `AuditEvent ${id}: the hub answered ${res.status}: ${refusalReason(await res.text())}`);
      continue;
    }
    const p = (await res.json()) as { parameter?: { name: string; valueInteger?: number; valueString?: string; valueBase64Binary?: string }[] };
    const get = (name: string) => p.parameter?.filter((x) => x.name === name) ?? [];
    const index = get('leafIndex')[0]?.valueInteger ?? -1;
    const entry = get('entry')[0]?.valueString ?? '';
    const included = verifyInclusion(index, n, leafHashOfText(entry), get('hash').map((h) => Buffer.from(h.valueBase64Binary ?? '', 'base64')), latest.checkpoint.rootHash);
    // A layout 2 or 3 leaf names its AuditEvent id: the proof must be of the one asked for.
    const named = idNamedBy(entry);
    if (included && named !== undefined && named !== id) check(false, `AuditEvent ${id}: the hub proved the inclusion of AuditEvent ${named} instead`);
    else check(included, included ? `AuditEvent ${id} is entry ${index} of the log` : `AuditEvent ${id}: the proof does not lead to the checkpoint's root`);
  }
  if (values.save) {
    await writeFile(values.save, latestNote);
    lines.push(`  kept the current checkpoint in ${values.save}`);
  }
  return finish(io, lines, ok);
}

/** The AuditEvent id canonical entry bytes name (layouts 2 and 3), if they name one. */
function idNamedBy(canonical: string): string | undefined {
  try {
    return parseCanonicalEntry(canonical).id;
  } catch {
    return undefined;
  }
}

/** `audit checkpoint --out FILE`: keeps the latest signed checkpoint, after checking its signature. */
async function checkpointCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs('audit', args, { ...REMOTE_OPTIONS, out: { type: 'string' } });
  if (!values.out) throw new UsageError('name the file to keep the checkpoint in: --out FILE', 'audit');
  const http = await auditorClient(values);
  const note = await http.getText('/log/checkpoint');
  const origin = note.split('\n', 1)[0] ?? '';
  const opened = open(note, await logVerifier(origin, note, values.key, http.directory), origin);
  if (!opened.ok) {
    io.err(`✘ the hub's checkpoint does not verify: ${opened.problem}`);
    return EXIT_FAILURE;
  }
  await writeFile(values.out, note);
  io.out(`✔ kept checkpoint ${origin}: ${opened.checkpoint.size} entries, root ${opened.checkpoint.rootHash.toString('base64')} → ${values.out}`);
  return EXIT_OK;
}

/** `audit bundle <id> --out FILE`: an entry's proof bundle, to verify offline later. */
async function bundleCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('audit', args, { ...REMOTE_OPTIONS, out: { type: 'string' }, checkpoint: { type: 'string' } }, true);
  const [id] = positionals;
  if (!id || !values.out) throw new UsageError('usage: audit bundle <AuditEvent id> --out FILE', 'audit');
  const http = await auditorClient(values);
  const query = values.checkpoint ? `?checkpoint=${encodeURIComponent(values.checkpoint)}` : '';
  const res = await http.get(`/fhir/AuditEvent/${encodeURIComponent(id)}/$proof-bundle${query}`);
  if (res.status !== 200) {
    io.err(`✘ the hub answered ${res.status}: ${refusalReason(await res.text())}`);
    return EXIT_FAILURE;
  }
  await writeFile(values.out, `${JSON.stringify(await res.json(), null, 2)}\n`);
  io.out(`✔ proof bundle of AuditEvent ${id} → ${values.out} (check it with \`infoshare audit verify --bundle ${values.out}\`)`);
  return EXIT_OK;
}

/** Offline: a proof bundle, against the given key (or, with a warning, the key the bundle names). */
async function verifyBundleFile(file: string, keyFile: string | undefined, io: Io): Promise<number> {
  let bundle;
  try {
    bundle = parseProofBundle(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    io.err(`✘ ${file}: ${(err as Error).message}`);
    return EXIT_FAILURE;
  }
  const origin = bundle.checkpoint.split('\n', 1)[0] ?? '';
  let verifier: NoteVerifier;
  if (keyFile) {
    verifier = await verifierFromFile(keyFile, origin, bundle.checkpoint);
  } else {
    verifier = parseVerifierKey(bundle.verifierKey);
    io.err('! no --key given: checked against the key the bundle names; pass the partnership key (its JWKS or verifier key) to trust it');
  }
  const verdict = verifyProofBundle(bundle, verifier, origin);
  if (!verdict.ok) {
    io.out(`✘ ${file}: ${verdict.problem}`);
    return EXIT_FAILURE;
  }
  io.out(`✔ AuditEvent ${verdict.id} is entry ${verdict.leafIndex} of ${origin}, under the signed checkpoint of ${verdict.checkpoint.size} entries (root ${verdict.checkpoint.rootHash.toString('base64')})`);
  return EXIT_OK;
}

function open(note: string, verifier: NoteVerifier, origin: string): { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string } {
  const opened = openCheckpoint(note, verifier, origin);
  return opened.ok ? opened : { ok: false, problem: opened.problem.detail };
}

function finish(io: Io, lines: string[], ok: boolean): number {
  io.out(lines.join('\n'));
  return ok ? EXIT_OK : EXIT_FAILURE;
}

/**
 * The key checkpoints must be signed with: from --key (a verifier key line, a
 * JWKS, or a PEM public key), else the partnership's keys the directory
 * publishes (its JWKS) — the one whose key ID the note's signature names.
 */
async function logVerifier(origin: string, note: string, keyFile: string | undefined, directory: string): Promise<NoteVerifier> {
  if (keyFile) return verifierFromFile(keyFile, origin, note);
  const res = await fetch(`${directory}/auth/jwks.json`);
  if (!res.ok) throw new Error(`the directory's JWKS (${directory}/auth/jwks.json) answered ${res.status}`);
  const jwks = (await res.json()) as { keys?: unknown[] };
  return pickVerifier(origin, note, (jwks.keys ?? []).map((k) => keyObjectFromJwk(k)));
}

async function verifierFromFile(file: string, origin: string, note: string): Promise<NoteVerifier> {
  const text = (await readFile(file, 'utf8')).trim();
  if (text.startsWith('{')) {
    const jwks = JSON.parse(text) as { keys?: unknown[] };
    return pickVerifier(origin, note, (jwks.keys ?? [jwks]).map((k) => keyObjectFromJwk(k)));
  }
  if (text.startsWith('-----BEGIN')) return pickVerifier(origin, note, [createPublicKey(text)]);
  return parseVerifierKey(text);
}

function pickVerifier(origin: string, note: string, keys: readonly KeyObject[]): NoteVerifier {
  const ids = signatureKeyIds(note, origin);
  const candidates = keys.flatMap((k) => {
    try {
      return [noteVerifier(origin, k)];
    } catch {
      return []; // not an ECDSA key: cannot have signed a checkpoint
    }
  });
  const match = candidates.find((v) => ids.includes(v.keyId));
  if (!match) throw new Error(`none of the partnership's published keys signed this checkpoint (key ids ${ids.map((i) => i.toString(16).padStart(8, '0')).join(', ') || 'none'})`);
  return match;
}

/** An HTTP client for the audit service, signed in as an auditing agency. */
async function auditorClient(values: { audit?: string; directory?: string; agency: string }) {
  const config = loadConfig();
  const base = urlOption('audit', 'audit', values.audit) ?? config.urls.audit;
  const givenDirectory = urlOption('audit', 'directory', values.directory);
  const directory = givenDirectory ?? config.urls.directory;
  const tokenUrl = await tokenUrlFor(config, givenDirectory);
  let token: string;
  try {
    token = await demoAgencyToken(tokenUrl, values.agency, AUDITOR_SCOPE);
  } catch (err) {
    if (isUnreachable(err)) throw new Error(`the hub is not reachable (${tokenUrl}): start it with \`infoshare start\` (or pass --directory <url>)`, { cause: err });
    throw err;
  }
  const get = (path: string) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return {
    directory,
    get,
    async getText(path: string): Promise<string> {
      const res = await get(path);
      if (!res.ok) throw new Error(`${path}: the audit service answered ${res.status}: ${refusalReason(await res.text())}`);
      return res.text();
    },
    async getJson(path: string): Promise<unknown> {
      const res = await get(path);
      if (!res.ok) throw new Error(`${path}: the audit service answered ${res.status}: ${refusalReason(await res.text())}`);
      return res.json();
    },
  };
}
