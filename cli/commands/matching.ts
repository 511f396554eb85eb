/**
 * `infoshare matching report`: the MPI's matching review (MI-L5) — review
 * queue, outcomes, reviewer decisions, declared model, last benchmark —
 * fetched from the running hub as a reviewing agency.
 */
import { loadConfig } from '../../shared/config.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken } from '../../shared/client/token.js';
import type { MatchingReport } from '../../services/mpi/domain/report.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';

export async function matchingCommand(args: string[], io: Io = processIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'report') throw new UsageError(`unknown subcommand "${sub ?? ''}": the only one is \`matching report\``, 'matching');
  const { values } = parseCommandArgs('matching', rest, {
    agency: { type: 'string', default: 'nhs-lothian' },
    mpi: { type: 'string' },
    json: { type: 'boolean' },
  });
  const config = loadConfig();
  const mpi = urlOption('matching', 'mpi', values.mpi) ?? config.urls.mpi;
  let report: MatchingReport;
  try {
    const token = await getAccessToken({
      tokenUrl: config.token.tokenUrl,
      agencyId: values.agency,
      privateKeyPem: await demoAgencyKey(values.agency),
      scope: 'system/Task.read',
    });
    const res = await fetch(`${mpi}/matching/report`, { headers: { Authorization: `Bearer ${token.access_token}` } });
    if (!res.ok) {
      io.err(`The MPI answered ${res.status}: ${await res.text()}`);
      return EXIT_FAILURE;
    }
    report = (await res.json()) as MatchingReport;
  } catch (err) {
    if (isUnreachable(err)) {
      io.err(`The hub is not reachable (${mpi}, ${config.token.tokenUrl}): start it with \`infoshare start\``);
      return EXIT_FAILURE;
    }
    throw err;
  }
  io.out(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return EXIT_OK;
}

export function formatReport(r: MatchingReport): string {
  const o = r.outcomes;
  const q = r.reviewQueue;
  const d = r.decisions;
  const lines = [
    `Matching report (${r.generatedAt})`,
    `  declared model        ${r.matchingModel}`,
    `  indexed records       ${r.indexedRecords}`,
    `  outcomes              ${o.linkedByChi} linked by CHI, ${o.linkedAutomatically} linked automatically, ${o.queuedForReview} queued for review, ${o.newPersons} new persons; ${o.chiSeeded} CHI seeded`,
    `  review queue          ${q.open} open${q.oldestRequestedAt ? `, oldest ${q.oldestAgeHours} h (${q.oldestRequestedAt})` : ''}; ${q.withdrawn} withdrawn (answered by a re-submission); ${q.possibleDuplicates} raised as possible duplicates`,
    `  reviewer decisions    ${d.link} link, ${d.notLink} not-link; corrections: ${d.unlinks} unlink, ${d.merges} merge`,
    ...Object.entries(d.byReviewer).map(([who, n]) => `      ${who}: ${n}`),
    `  thresholds            link ≥ ${r.model.thresholds.upper}, review ≥ ${r.model.thresholds.lower}`,
  ];
  const bench = r.lastBenchmark as { generatedAt?: string; runs?: { dataset: string; identifier: boolean; f1: number; reviewShareOfTruePairs: number }[] } | undefined;
  if (bench?.runs) {
    lines.push(`  last benchmark        ${bench.generatedAt ?? ''}`);
    for (const run of bench.runs) {
      lines.push(`      ${run.dataset}${run.identifier ? ' (with identifier)' : ''}: F1 ${run.f1}, ${(run.reviewShareOfTruePairs * 100).toFixed(1)} % of true pairs left in review`);
    }
  } else {
    lines.push('  last benchmark        none yet (npm run bench:matching)');
  }
  return lines.join('\n');
}
