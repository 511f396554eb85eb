/**
 * The auditor's web page (`GET /` of the audit service), rendered on the server. Pure: every
 * function takes data and returns HTML, every value escaped. The shell holds no data (it is
 * served without a token); `page-script.ts` asks for a token, then fetches the fragments below
 * with it and places them: the overview (log status + the Annex B grid), a cell's detail, a page
 * of the exchange log, the performance panel.
 *
 * Accessibility: statuses are words and symbols, not colour alone; every control is a real
 * button, link or form field with a label; headings in order; regions that change announce it.
 */
import type { AuditEvent } from 'fhir/r4.js';
import { CATALOGUE, MATURITY_LEVELS, criterion, type CriterionCode } from '../../../shared/maturity/catalogue.js';
import { escapeHtml as esc } from '../../../shared/render/html.js';
import type { AccessSummary } from './access-summary.js';
import { cursorValue } from './audit-search.js';
import { checkpointLabel, highestLevelLabel, scopeLabel, statusLabel } from './evidence-formats.js';
import type { CellReport, CellStatus, EvidenceReport } from './evidence-report.js';
import { trendOf, type PerformanceSummary } from './performance.js';

const SYMBOL: Readonly<Record<CellStatus, string>> = {
  demonstrated: '✔',
  partly: '◐',
  'not yet': '✗',
  'documentary evidence needed': '□',
  documented: '▣',
};

const STYLE = `
body{font-family:system-ui,Helvetica,Arial,sans-serif;margin:0;color:#111;background:#fafafa}
header,main,#login{padding:.5em 1.5em}header{background:#1d3557;color:#fff}header h1{margin:.3em 0;font-size:1.4em}
.skip{position:absolute;left:-999px}.skip:focus{left:1em;top:1em;background:#fff;color:#000;padding:.5em;z-index:9}
section{margin:1em 0;padding:.5em 1em;background:#fff;border:1px solid #ddd;border-radius:4px}
h2{font-size:1.15em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}
.grid td{padding:0}.grid button{width:100%;min-height:4.2em;border:0;text-align:left;padding:.35em;font:inherit;cursor:pointer;background:inherit;color:inherit}
.grid button:focus{outline:3px solid #000;outline-offset:-3px}
.st-demonstrated{background:#b7e4c7}.st-partly{background:#ffe8a3}.st-not-yet{background:#f8d7da}
.st-documentary-evidence-needed{background:#e2e3e5}.st-documented{background:#cfe2ff}
.status{display:block;font-weight:bold}.count{display:block;font-size:.85em}
.legend li{display:inline-block;margin-right:1em;padding:0 .3em}
button,input,select{font:inherit}form.filters{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:.9em}
.ok{color:#155724}.bad{color:#721c24;font-weight:bold}[role=alert]{color:#721c24}
blockquote{margin:.5em 0;padding:.3em 1em;border-left:4px solid #999;background:#f4f4f4}
svg.spark{vertical-align:middle}`;

/** The page served at `GET /`: no data, a sign-in form, the regions the script fills. */
export function pageShell(options: { scriptPath: string; tokenHint: string }): string {
  const criteria = CATALOGUE.criteria.map((c) => `<option value="${esc(c.code)}">${esc(c.code)}</option>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>infoshare — maturity evidence for auditors</title><style>${STYLE}</style></head>
<body>
<a class="skip" href="#main">Skip to the evidence</a>
<header><h1>Maturity evidence — the exchange log for auditors</h1></header>
<section id="login" aria-labelledby="login-heading">
<h2 id="login-heading">Sign in</h2>
<form id="login-form">
<label for="token">Auditor access token (scope system/AuditEvent.read)</label>
<input id="token" name="token" type="password" autocomplete="off" required size="40">
<button type="submit">Sign in</button>
</form>
<p>Get a token with <code>${esc(options.tokenHint)}</code>. It is kept in this browser tab only (sessionStorage) and sent with every request.</p>
<p id="login-message" role="alert"></p>
</section>
<main id="main" hidden>
<p><button type="button" id="sign-out">Sign out</button> <button type="button" id="refresh">Refresh</button></p>
<div id="overview" aria-live="polite"><p>Loading the evidence…</p></div>
<section id="cell" aria-labelledby="cell-heading" tabindex="-1"><h2 id="cell-heading">Cell detail</h2><p>Choose a cell of the grid to read its criterion, its evidence and the exchanges behind it.</p></section>
<section id="log" aria-labelledby="log-heading">
<h2 id="log-heading">Exchange log</h2>
<form id="log-form" class="filters">
<label>Recorded from <input name="from" type="date"></label>
<label>Recorded until <input name="until" type="date"></label>
<label>Agency or agent <input name="agent" placeholder="nhs-lothian"></label>
<label>Person (CHI, Person/…, Patient/…) <input name="patient"></label>
<label>Outcome <select name="outcome"><option value="">any</option><option value="0">0 success</option><option value="4">4 refused</option><option value="8">8 failed</option><option value="12">12 major failure</option></select></label>
<label>Criterion <select name="criterion"><option value="">any</option>${criteria}</select></label>
<label>Type <input name="type" placeholder="rest"></label>
<label>Subtype <input name="subtype" placeholder="read, $match"></label>
<button type="submit">Search the log</button>
</form>
<div id="log-results" aria-live="polite"></div>
</section>
<section id="performance" aria-labelledby="performance-heading"><h2 id="performance-heading">Performance</h2><p>Loading…</p></section>
</main>
<script src="${esc(options.scriptPath)}"></script>
</body></html>`;
}

export interface LogStatus {
  readonly checkpoint?: { origin: string; size: number; rootHash: string; issued?: string };
  readonly verification?: { at: string; size: number; ok: boolean; firstBadPosition?: number; root?: string };
  readonly indexedThrough?: string;
  readonly logSize?: number;
}

/** The log's status and the Annex B grid. */
export function overviewFragment(report: EvidenceReport, status: LogStatus): string {
  return `${statusPanel(status)}${gridPanel(report)}`;
}

function statusPanel(status: LogStatus): string {
  const cp = status.checkpoint;
  const v = status.verification;
  const verification = v
    ? v.ok
      ? `<span class="ok">✔ verified</span>: ${v.size} entries re-hashed to the signed root at ${esc(v.at)}`
      : `<span class="bad">✗ BROKEN</span> at position ${v.firstBadPosition ?? '?'} (checked ${esc(v.at)}, ${v.size} entries)`
    : 'not verified yet — run <code>npx infoshare audit verify</code>';
  return `<section id="log-status" aria-labelledby="log-status-heading"><h2 id="log-status-heading">The log</h2><dl>
<dt>Latest signed checkpoint</dt><dd>${cp ? `${esc(cp.origin)} — tree size <strong>${cp.size}</strong>, root <code>${esc(cp.rootHash)}</code>${cp.issued ? `, issued ${esc(cp.issued)}` : ''}` : 'none yet'}</dd>
<dt>Verification</dt><dd>${verification}</dd>
${status.logSize !== undefined ? `<dt>Entries in the log</dt><dd>${status.logSize}</dd>` : ''}
${status.indexedThrough ? `<dt>Searchable through</dt><dd>entry <code>${esc(status.indexedThrough)}</code></dd>` : ''}
</dl></section>`;
}

function gridPanel(report: EvidenceReport): string {
  const head = MATURITY_LEVELS.map((l) => `<th scope="col">Level ${l}<br><small>${esc(CATALOGUE.levels[l - 1]?.name ?? '')}</small></th>`).join('');
  const rows = report.areas
    .map((area) => {
      const cells = area.cells.map((c) => `<td class="st-${c.status.replace(/ /g, '-')}">${cellButton(c)}</td>`).join('');
      return `<tr><th scope="row">${esc(area.code)} <small>${esc(area.title)}</small></th>${cells}<td>${esc(highestLevelLabel(area))}</td></tr>`;
    })
    .join('\n');
  const legend = (Object.keys(SYMBOL) as CellStatus[]).map((s) => `<li class="st-${s.replace(/ /g, '-')}">${SYMBOL[s]} ${esc(statusLabel({ status: s }))}</li>`).join('');
  return `<section id="grid-panel" aria-labelledby="grid-heading"><h2 id="grid-heading">Annex B maturity grid</h2>
<p>Computed at checkpoint: ${esc(checkpointLabel(report))}. Scope: ${esc(scopeLabel(report))}. ${report.exchanges} exchanges. Generated ${esc(report.generatedAt)}.</p>
<p>${esc(report.rule)}</p>
<ul class="legend" aria-label="Legend">${legend}</ul>
<table class="grid"><caption>Status of each area (rows) at each level (columns); choose a cell for its criterion and evidence</caption>
<thead><tr><th scope="col">Area</th>${head}<th scope="col">Highest level demonstrated</th></tr></thead>
<tbody>${rows}</tbody></table>
<p>Download: <a href="#" data-download="json">JSON</a> · <a href="#" data-download="csv">CSV</a> · <a href="#" data-download="fhir">FHIR Bundle</a> · <a href="#" data-download="html">HTML</a> · <a href="#" data-download="pdf">PDF</a></p>
</section>`;
}

function cellButton(c: CellReport): string {
  const count = c.kind === 'exchange' ? `${c.count} exchange${c.count === 1 ? '' : 's'}` : `${c.documents.length} document${c.documents.length === 1 ? '' : 's'}`;
  return `<button type="button" data-cell="${esc(c.code)}" aria-label="${esc(`${c.code}: ${statusLabel(c)}, ${count}`)}"><span aria-hidden="true">${esc(c.code)}</span><span class="status" aria-hidden="true">${SYMBOL[c.status]} ${esc(statusLabel(c))}</span><span class="count" aria-hidden="true">${count}</span></button>`;
}

/** One cell: its criterion text, what shows it, its evidence and the exchanges behind it. */
export function cellFragment(cell: CellReport, events: readonly AuditEvent[], summarise: (e: AuditEvent) => AccessSummary): string {
  const c = criterion(cell.code);
  const area = CATALOGUE.areas.find((a) => a.code === c.area);
  const level = CATALOGUE.levels[c.level - 1];
  const samples = cell.samples.length
    ? `<h3>Sample exchanges (with inclusion proofs)</h3><ul>${cell.samples
        .map((s) => {
          const e = events.find((x) => x.id === s.id);
          const line = e ? describe(summarise(e)) : '';
          return `<li><code>${esc(s.id)}</code> ${esc(s.recorded)} ${esc(line)} — ${s.proof ? `included: leaf ${s.proof.leafIndex} of tree size ${s.proof.treeSize}, ${s.proof.hashes.length} proof hashes` : 'no proof (no checkpoint covers it yet)'}</li>`;
        })
        .join('')}</ul>`
    : '';
  const documents = cell.documents.length
    ? `<h3>Documentary evidence</h3><ul>${cell.documents.map((d) => `<li>${esc(d.title)} — ${esc(d.date)}, attested by ${esc(d.attestedBy)}${d.url ? ` (<a href="${esc(d.url)}">document</a>)` : ''}</li>`).join('')}</ul>`
    : '';
  return `<h2 id="cell-heading">${esc(cell.code)} — ${esc(area?.title ?? c.area)}, level ${c.level} (${esc(level?.name ?? '')})</h2>
<p><strong>Status: ${SYMBOL[cell.status]} ${esc(statusLabel(cell))}</strong></p>
<h3>Annex B</h3><blockquote>${esc(c.text)}</blockquote>
<dl><dt>What shows it in the hub</dt><dd>${esc(c.hubEvidence ?? 'Not shown by exchanges: documentary evidence needed, attached by an auditor')}</dd>
${cell.kind === 'exchange' ? `<dt>Exchanges evidencing it</dt><dd>${cell.count}</dd><dt>First / last</dt><dd>${esc(cell.first ?? '—')} / ${esc(cell.last ?? '—')}</dd>` : ''}
${cell.lacking.length ? `<dt>Lacking evidence at this level or below</dt><dd>${esc(cell.lacking.join(', '))}</dd>` : ''}</dl>
${samples}${documents}
${cell.kind === 'exchange' ? `<p><button type="button" data-search-criterion="${esc(cell.code)}">Show every exchange logged against ${esc(cell.code)}</button></p>` : ''}`;
}

/** A page of the exchange log as `logFragment` shows it: the search's exact total, its rows, and which ways it goes on. */
export interface LogPage {
  readonly total: number;
  readonly rows: readonly AccessSummary[];
  /** More entries older than the last row (`after`) or newer than the first (`before`). */
  readonly more: { readonly after: boolean; readonly before: boolean };
  /** The first page of the search (no `_cursor`): its rows are numbered from 1. */
  readonly first: boolean;
  /** The search's own parameters (no `_`-parameters), for the export link. */
  readonly query: string;
}

/**
 * A page of the exchange log with its exact total and paging buttons. Older / Newer name the
 * entry they continue from (`_cursor=after:<last id>` / `before:<first id>`, as the AuditEvent
 * search's next / previous links do), so entries logged while the auditor reads neither
 * reappear on the next page nor push one off it.
 */
export function logFragment(page: LogPage): string {
  const rows = page.rows
    .map(
      (r) =>
        `<tr><td>${esc(r.recorded)}</td><td>${esc(r.service)}</td><td>${esc(r.agent)}</td><td>${esc(r.subtype)}</td><td>${esc(outcomeLabel(r.outcome))}</td><td>${esc(r.subject)}</td><td>${esc(r.criteria.join(' '))}</td><td><code>${esc(r.id)}</code></td></tr>`,
    )
    .join('');
  const newest = page.rows[0];
  const oldest = page.rows[page.rows.length - 1];
  const prev = page.more.before && newest ? `<button type="button" data-log-cursor="${esc(cursorValue({ direction: 'before', id: newest.id }))}">Newer</button>` : '';
  const next = page.more.after && oldest ? `<button type="button" data-log-cursor="${esc(cursorValue({ direction: 'after', id: oldest.id }))}">Older</button>` : '';
  // Only the first page knows where it stands from the top: a later one is placed by its rows, not counted.
  const showing = !newest || !oldest ? '' : page.first ? ` — showing 1–${page.rows.length}, newest first` : ` — showing ${page.rows.length}, recorded ${oldest.recorded} to ${newest.recorded}, newest first`;
  return `<p role="status"><strong>${page.total}</strong> exchange${page.total === 1 ? '' : 's'} match${page.total === 1 ? 'es' : ''}${showing}.</p>
<table id="log-table"><caption>Exchanges in the log</caption><thead><tr><th scope="col">Recorded</th><th scope="col">Service</th><th scope="col">Agent</th><th scope="col">Exchange</th><th scope="col">Outcome</th><th scope="col">Person</th><th scope="col">Criteria</th><th scope="col">AuditEvent id</th></tr></thead><tbody>${rows}</tbody></table>
<p data-query="${esc(page.query)}">${prev} ${next} <a href="#" data-export="${esc(page.query)}">Export these as NDJSON</a></p>`;
}

function outcomeLabel(outcome: string): string {
  return { '0': '0 success', '4': '4 refused', '8': '8 failed', '12': '12 major failure' }[outcome] ?? outcome;
}

function describe(a: AccessSummary): string {
  return `${a.agent} ${a.subtype} (${outcomeLabel(a.outcome)})`;
}

/** The latest interval's figures and the trend of the busiest exchanges. */
export function performanceFragment(summaries: readonly PerformanceSummary[]): string {
  const latest = summaries[summaries.length - 1];
  if (!latest) return `<h2 id="performance-heading">Performance</h2><p>No performance summary yet: the audit service writes one every interval.</p>`;
  const top = latest.rows.slice(0, 15);
  const rows = top
    .map((r) => {
      const trend = trendOf(summaries, r.service, r.exchange);
      return `<tr><td>${esc(r.service)}</td><td>${esc(r.exchange)}</td><td>${r.volume}</td><td>${ms(r.p50Ms)}</td><td>${ms(r.p99Ms)}</td><td>${r.failures}</td><td>${sparkline(trend.map((t) => t.p99Ms))} ${esc(trendText(trend.map((t) => t.p99Ms)))}</td></tr>`;
    })
    .join('');
  const volumes = summaries.map((s) => s.rows.reduce((n, r) => n + r.volume, 0));
  return `<h2 id="performance-heading">Performance</h2>
<p>Summaries every interval from each service's metrics (SI-L4), kept as evidence; latest interval ${esc(latest.from)} – ${esc(latest.to)}.${latest.unreachable.length ? ` Unreachable: ${esc(latest.unreachable.join(', '))}.` : ''}</p>
<p>Exchanges per interval (last ${summaries.length}): ${sparkline(volumes)} ${esc(volumes.join(', '))}</p>
<table><caption>Busiest exchanges in the latest interval</caption><thead><tr><th scope="col">Service</th><th scope="col">Exchange</th><th scope="col">Volume</th><th scope="col">p50</th><th scope="col">p99</th><th scope="col">Failures</th><th scope="col">p99 trend</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function ms(v: number | null): string {
  return v === null ? '—' : `${v} ms`;
}

function trendText(values: readonly (number | null)[]): string {
  const shown = values.filter((v): v is number => v !== null);
  if (shown.length < 2) return 'one interval';
  return `${shown[0]} → ${shown[shown.length - 1]} ms over ${shown.length} intervals`;
}

/** A small inline chart; its text equivalent sits beside it. */
function sparkline(values: readonly (number | null)[]): string {
  const points = values.map((v) => v ?? 0);
  if (points.length < 2) return '';
  const max = Math.max(...points, 1);
  const w = 120;
  const h = 24;
  const coords = points.map((v, i) => `${((i / (points.length - 1)) * w).toFixed(1)},${(h - (v / max) * h).toFixed(1)}`).join(' ');
  return `<svg class="spark" width="${w}" height="${h}" aria-hidden="true" focusable="false"><polyline fill="none" stroke="#1d3557" stroke-width="1.5" points="${coords}"/></svg>`;
}

export function isGridCode(code: string): code is CriterionCode {
  return CATALOGUE.criteria.some((c) => c.code === code);
}
