/**
 * `infoshare matching report`: the MPI's matching review (MI-L5) — review
 * queue, outcomes, reviewer decisions, the model in use, last benchmark —
 * fetched from the running hub as a reviewing agency.
 * `infoshare matching estimate`: re-estimates the matching model from the records
 * in the index (`POST /fhir/$estimate-model`, as a statutory partner) and says
 * which version is now in use and what it expects of itself.
 * `infoshare matching review <task id>`: a match review side by side
 * (`GET /fhir/Task/{id}/$review`) — both records' values per field with each
 * field's level and weight, as the reviewing agency may see them under the ISP.
 */
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { loadConfig } from '../../shared/config.js';
import { demoAgencyToken, tokenUrlFor } from '../demo-token.js';
import type { ModelSummary } from '../../services/mpi/domain/model-version.js';
import type { MatchingReport } from '../../services/mpi/domain/report.js';
import { HubScopes } from '../../shared/auth/scopes.js';
import { refusalReason } from '../../shared/client/http.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';

export async function matchingCommand(args: string[], io: Io = processIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'estimate') return estimateCommand(rest, io);
  if (sub === 'review') return reviewCommand(rest, io);
  if (sub !== 'report') throw new UsageError(`unknown subcommand "${sub ?? ''}": \`matching report\`, \`matching estimate\` or \`matching review\``, 'matching');
  const { values } = parseCommandArgs('matching', rest, MATCHING_OPTIONS);
  const target = await mpiTarget(values);
  return askMpi<MatchingReport>(
    io,
    target,
    values.agency,
    'system/Task.read',
    (token) => fetch(`${target.mpi}/matching/report`, { headers: { Authorization: `Bearer ${token}` } }),
    (report) => (values.json ? JSON.stringify(report, null, 2) : formatReport(report)),
  );
}

/** The options every `matching` subcommand takes: the demo agency to sign in as, the MPI's address, JSON output. */
const MATCHING_OPTIONS = {
  agency: { type: 'string', default: 'nhs-lothian' },
  mpi: { type: 'string' },
  directory: { type: 'string' },
  json: { type: 'boolean' },
} as const;

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
    `  reviewers vs model    ${d.agreedWithModel} agreed, ${d.disagreedWithModel} disagreed${d.agreementWithModel !== undefined ? ` (${Math.round(d.agreementWithModel * 100)} % agreement)` : ''}`,
    `  model in use          ${modelLine(r.model)}`,
    `  thresholds            ${thresholdLine(r.model)}`,
    ...(r.model.expected ? [`  the model expects     ${expectationLine(r.model.expected)}`] : []),
    ...(r.modelVersions.length > 1 ? [`  model versions        ${r.modelVersions.map((v) => `${v.version}${v.estimatedAt ? ` (${v.estimatedAt})` : ''}`).join(', ')}`] : []),
  ];
  const bench = r.lastBenchmark as { generatedAt?: string; runs?: BenchmarkRun[] } | undefined;
  if (bench?.runs) {
    lines.push(`  last benchmark        ${bench.generatedAt ?? ''}`);
    for (const run of bench.runs) lines.push(`      ${benchmarkRunLine(run)}`);
  } else {
    lines.push('  last benchmark        none yet (npm run bench:matching)');
  }
  return lines.join('\n');
}

/**
 * One row of `bench:matching`'s results. The rows differ by data set: a linkage run counts true
 * pairs left in review, a clustering run (FEBRL3, randomised, held-out proxy) the share of records
 * in review, a summary row means and worsts — so every figure is optional and only those present
 * are shown (never "NaN %" or "undefined").
 */
interface BenchmarkRun {
  readonly dataset: string;
  readonly identifier?: boolean;
  readonly seed?: number;
  readonly f1?: number;
  readonly meanF1?: number;
  readonly worstF1?: number;
  readonly reviewShareOfTruePairs?: number;
  readonly reviewShareOfRecords?: number;
  readonly meanReviewShareOfRecords?: number;
  readonly worstReviewShareOfRecords?: number;
}

export function benchmarkRunLine(run: BenchmarkRun): string {
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  const label = `${run.dataset}${run.seed !== undefined ? ` seed ${run.seed}` : ''}${run.identifier ? ' (with identifier)' : ''}`;
  const figures: string[] = [];
  if (num(run.f1)) figures.push(`F1 ${run.f1}`);
  if (num(run.meanF1)) figures.push(`mean F1 ${run.meanF1}`);
  if (num(run.worstF1)) figures.push(`worst F1 ${run.worstF1}`);
  if (num(run.reviewShareOfTruePairs)) figures.push(`${percent(run.reviewShareOfTruePairs)} of true pairs left in review`);
  if (num(run.reviewShareOfRecords)) figures.push(`${percent(run.reviewShareOfRecords)} of records in review`);
  if (num(run.meanReviewShareOfRecords)) figures.push(`mean ${percent(run.meanReviewShareOfRecords)} of records in review`);
  if (num(run.worstReviewShareOfRecords)) figures.push(`worst ${percent(run.worstReviewShareOfRecords)} of records in review`);
  return `${label}: ${figures.length ? figures.join(', ') : 'no quality figures'}`;
}

function modelLine(m: ModelSummary): string {
  if (m.source === 'configured') return 'version 0 (the configured model file)';
  return `version ${m.version}, estimated ${m.estimatedAt} from ${m.records} records (${m.trigger})${m.termFrequencies ? ', with term frequencies' : ''}`;
}

function thresholdLine(m: Pick<ModelSummary, 'thresholds' | 'linkProbability' | 'reviewProbability'>): string {
  const p = (x: number | undefined) => (x !== undefined ? ` (P ≥ ${x})` : '');
  return `link ≥ ${m.thresholds.upper}${p(m.linkProbability)}, review ≥ ${m.thresholds.lower}${p(m.reviewProbability)}`;
}

function expectationLine(e: NonNullable<ModelSummary['expected']>): string {
  return (
    `precision ${e.precision}, recall ${e.recall} of automatic links; ${(e.reviewShareOfRecords * 100).toFixed(1)} % of records to review, ` +
    `${Math.round(e.reviewTrueMatchShare * 100)} % of them true matches`
  );
}

/** What `$estimate-model` answers, in the CLI's words. */
export type EstimateSummary = Pick<ModelSummary, 'version' | 'records' | 'trigger' | 'thresholds' | 'linkProbability' | 'reviewProbability' | 'expected' | 'labelledPairs' | 'reviewerAgreement'>;

export function formatEstimate(s: EstimateSummary): string {
  return [
    `Matching model version ${s.version} is now in use, estimated from ${s.records} records and ${s.labelledPairs ?? 0} reviewer decisions`,
    `  thresholds            ${thresholdLine(s)}`,
    ...(s.expected ? [`  the model expects     ${expectationLine(s.expected)}`] : []),
    ...(s.reviewerAgreement !== undefined ? [`  reviewers agreed with it on ${Math.round(s.reviewerAgreement * 100)} % of their decisions`] : []),
    '  New registrations use it; nothing already in the index is re-matched.',
  ].join('\n');
}

async function estimateCommand(rest: string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs('matching', rest, MATCHING_OPTIONS);
  const target = await mpiTarget(values);
  return askMpi<Parameters>(
    io,
    target,
    values.agency,
    HubScopes.matchingModel,
    (token) => {
      io.err('Estimating the matching model from the index (this can take a minute for 100,000 records)…');
      return fetch(`${target.mpi}/fhir/$estimate-model`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    },
    (body) => {
      const summary = JSON.parse(body.parameter?.find((p) => p.name === 'summary')?.valueString ?? '{}') as EstimateSummary;
      return values.json ? JSON.stringify(body, null, 2) : formatEstimate(summary);
    },
  );
}

/** Where a `matching` command calls: the MPI, and the token endpoint of the hub it belongs to. */
interface MpiTarget {
  mpi: string;
  tokenUrl: string;
}

async function mpiTarget(values: { mpi?: string; directory?: string }): Promise<MpiTarget> {
  const config = loadConfig();
  return {
    mpi: urlOption('matching', 'mpi', values.mpi) ?? config.urls.mpi,
    tokenUrl: await tokenUrlFor(config, urlOption('matching', 'directory', values.directory)),
  };
}

/**
 * One call to the MPI as a demo agency (`send` gets the access token): prints what `show`
 * makes of the answer, or on stderr the MPI's refusal or that the hub is not reachable.
 */
async function askMpi<T>(
  io: Io,
  target: MpiTarget,
  agency: string,
  scope: string,
  send: (token: string) => Promise<Response>,
  show: (body: T) => string,
): Promise<number> {
  try {
    const res = await send(await demoAgencyToken(target.tokenUrl, agency, scope));
    if (!res.ok) {
      io.err(`The MPI refused (${res.status}): ${refusalReason(await res.text())}`);
      return EXIT_FAILURE;
    }
    io.out(show((await res.json()) as T));
    return EXIT_OK;
  } catch (err) {
    if (isUnreachable(err)) {
      io.err(`The hub is not reachable (${target.mpi}, ${target.tokenUrl}): start it with \`infoshare start\` (or pass --mpi / --directory <url>)`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

const part = (p: ParametersParameter | undefined, name: string): ParametersParameter | undefined => p?.part?.find((x) => x.name === name);

/** A `$review` answer as a table a reviewer reads in one go: one line per field, both records' values, level and weight. */
export function formatReviewView(view: Parameters): string {
  const top = (name: string) => view.parameter?.find((p) => p.name === name);
  const sides = (view.parameter ?? []).filter((p) => p.name === 'side');
  const heading = (role: string) => {
    const s = sides.find((p) => part(p, 'role')?.valueCode === role);
    const agency = part(s, 'agency')?.valueReference?.reference?.replace(/^Organization\//, '');
    const withheld = part(s, 'withheld')?.valueString;
    return {
      title: `${part(s, 'patient')?.valueReference?.reference ?? role}${agency ? ` (${agency})` : ''}`,
      note: withheld ? `values withheld: ${withheld}` : part(s, 'indexed')?.valueBoolean === false ? 'no longer indexed' : undefined,
    };
  };
  const record = heading('record');
  const candidate = heading('candidate');
  const rows = (view.parameter ?? [])
    .filter((p) => p.name === 'field')
    .map((p) => {
      const weight = part(p, 'weight')?.valueDecimal;
      const tf = part(p, 'term-frequency')?.valueDecimal;
      return [
        part(p, 'name')?.valueCode ?? '',
        part(p, 'record')?.valueString ?? '—',
        part(p, 'candidate')?.valueString ?? '—',
        part(p, 'level')?.valueCode ?? '',
        weight === undefined ? '' : `${weight >= 0 ? '+' : ''}${weight}${tf !== undefined ? ` (frequency ${tf >= 0 ? '+' : ''}${tf})` : ''}`,
      ];
    });
  const table = [['field', record.title, candidate.title, 'level', 'weight'], ...rows];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const score = top('score')?.valueDecimal;
  const probability = top('probability')?.valueDecimal;
  return [
    `${top('task')?.valueReference?.reference ?? 'Task'} (${top('status')?.valueCode ?? ''}${top('review-kind')?.valueCode === 'possible-duplicate' ? ', possible duplicate' : ''})`,
    ...(top('question')?.valueString ? [`  ${top('question')!.valueString}`] : []),
    score !== undefined
      ? `  now: score ${score}${probability !== undefined ? `, P(same person) ${probability}` : ''} → ${top('outcome')?.valueCode ?? ''}, under the ${top('model')?.valueString ?? 'model in use'}`
      : `  ${top('note')?.valueString ?? ''}`,
    ...(top('rule')?.valueString ? [`  rule: ${top('rule')!.valueString}`] : []),
    ...(top('names-swapped')?.valueBoolean ? ['  forename and family name compared crosswise (they look swapped)'] : []),
    ...[record, candidate].flatMap((s) => (s.note ? [`  ${s.title}: ${s.note}`] : [])),
    '',
    ...table.map(line),
  ].join('\n');
}

async function reviewCommand(rest: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'matching',
    rest,
    MATCHING_OPTIONS,
    true,
  );
  const taskId = positionals[0]?.replace(/^Task\//, '');
  if (!taskId || positionals.length > 1) throw new UsageError('`matching review` takes one review Task id', 'matching');
  const target = await mpiTarget(values);
  return askMpi<Parameters>(
    io,
    target,
    values.agency,
    HubScopes.taskReview,
    (token) => fetch(`${target.mpi}/fhir/Task/${encodeURIComponent(taskId)}/$review`, { headers: { Authorization: `Bearer ${token}` } }),
    (view) => (values.json ? JSON.stringify(view, null, 2) : formatReviewView(view)),
  );
}
