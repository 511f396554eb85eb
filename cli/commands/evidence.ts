/**
 * `infoshare evidence`: the maturity evidence report from the running hub's audit service,
 * written to a file (or stdout) in the format asked for, as a statutory partner's auditor.
 */
import { writeFile } from 'node:fs/promises';
import { refusalReason } from '../../shared/client/http.js';
import { loadConfig } from '../../shared/config.js';
import { demoAgencyToken, tokenUrlFor } from '../demo-token.js';
import { EVIDENCE_FORMATS, isEvidenceFormat } from '../../services/audit/domain/evidence-formats.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';

export async function evidenceCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('evidence', args, {
    format: { type: 'string', default: 'html' },
    out: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    partnership: { type: 'string' },
    agency: { type: 'string', default: 'nhs-lothian' },
    audit: { type: 'string' },
    directory: { type: 'string' },
  });
  if (!isEvidenceFormat(values.format)) throw new UsageError(`--format must be one of ${EVIDENCE_FORMATS.join(', ')}`, 'evidence');
  if (values.format === 'pdf' && !values.out) throw new UsageError('--format pdf needs --out FILE (a PDF is not for the terminal)', 'evidence');
  const config = loadConfig();
  const audit = urlOption('evidence', 'audit', values.audit) ?? config.urls.audit;
  const tokenUrl = await tokenUrlFor(config, urlOption('evidence', 'directory', values.directory));
  const query = new URLSearchParams({ format: values.format });
  for (const key of ['since', 'until', 'partnership'] as const) if (values[key]) query.set(key, values[key]);
  let body: Buffer;
  try {
    const token = await demoAgencyToken(tokenUrl, values.agency, 'system/AuditEvent.read');
    const res = await fetch(`${audit}/evidence?${query.toString()}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) {
      io.err(`The audit service answered ${res.status}: ${refusalReason(await res.text())}`);
      return EXIT_FAILURE;
    }
    body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    if (isUnreachable(err)) {
      io.err(`The hub is not reachable (${audit}, ${tokenUrl}): start it with \`infoshare start\` (or pass --audit / --directory <url>)`);
      return EXIT_FAILURE;
    }
    throw err;
  }
  if (values.out) {
    await writeFile(values.out, body);
    io.err(`Wrote the maturity evidence report (${values.format}, ${body.length} bytes) to ${values.out}`);
  } else {
    io.out(body.toString('utf8'));
  }
  return EXIT_OK;
}
