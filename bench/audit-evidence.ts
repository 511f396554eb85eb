/**
 * The evidence side of `npm run bench:audit` (bench/audit.ts calls it after its verification and
 * proof phases, on the entries it appended): the maturity evidence report and the auditor's page
 * with the log at that size — `reportSecondsAt1M` and `pageLoadMsAt1M` when the bench runs at its
 * default million entries (issue 14, item 8). The search indexes are brought up to date first
 * (timed apart: the audit service keeps them up as it appends, so a report never waits for them).
 *
 * The page load is measured in a real headless Chromium (playwright-core, Debian's chromium) against
 * the audit service's own routes over HTTP: from navigating to `GET /` until the Annex B grid of the
 * first view is on screen — the shell, its script, the auditor's token taken, then the overview
 * fragment (report + log status) fetched and rendered.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { serviceRouter } from '../shared/http/router.js';
import { chromium } from 'playwright-core';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { createServiceApp } from '../shared/http/service-app.js';
import type { ServiceDeps } from '../shared/runtime/deps.js';
import { createEvidenceContext, type LogStatusSource } from '../services/audit/evidence-context.js';
import { AUDITOR_SCOPE, evidenceRoutes } from '../services/audit/evidence-routes.js';
import type { LogFacts } from '../services/audit/evidence.js';

export interface EvidenceFigures {
  /** Entries indexed per second while catching the search indexes up (0 when already up to date). */
  readonly indexEntriesPerSecond: number;
  /** Seconds to compute the whole report (45 cells, counts, dates, samples with inclusion proofs). */
  readonly reportSecondsAt1M: number;
  /** Milliseconds in headless Chromium from navigating to the page until the first view's grid is shown (cold: the first load). */
  readonly pageLoadMsAt1M: number;
  /** The same page loaded again in the same tab (the token kept in the tab's sessionStorage). */
  readonly pageReloadMs: number;
  /** Entries in the search index when measured (the "1M" of the key names, when the bench ran at 1M). */
  readonly entries: number;
}

/** Where Debian's chromium is, and how it runs here (as the page's own test launches it). */
const CHROMIUM = { executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking'] };
/** The demo auditor: a statutory partner holding the auditor scope. */
const AUDITOR_AGENCY = 'nhs-lothian';

export async function measureEvidence(deps: ServiceDeps, log: LogFacts & LogStatusSource): Promise<EvidenceFigures> {
  const ctx = createEvidenceContext(deps, log);
  let started = performance.now();
  const indexed = await ctx.index.catchUp();
  const indexSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  await ctx.reporter.report();
  const reportSeconds = (performance.now() - started) / 1000;

  const { firstMs, reloadMs } = await pageLoad(deps, ctx);
  return {
    indexEntriesPerSecond: indexed > 0 && indexSeconds > 0 ? Math.round(indexed / indexSeconds) : 0,
    reportSecondsAt1M: Math.round(reportSeconds * 1000) / 1000,
    pageLoadMsAt1M: Math.round(firstMs),
    pageReloadMs: Math.round(reloadMs),
    entries: await ctx.index.countAll(),
  };
}

/** The auditor's page served by the audit service's routes, loaded twice in headless Chromium. */
async function pageLoad(deps: ServiceDeps, ctx: ReturnType<typeof createEvidenceContext>): Promise<{ firstMs: number; reloadMs: number }> {
  const routes = serviceRouter();
  routes.use(evidenceRoutes(ctx));
  const app = createServiceApp({ service: 'audit', redis: deps.redis, audit: deps.audit, log: deps.log, bodyLimit: deps.config.bodyLimit, routes });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = issueAccessToken(
    { clientId: AUDITOR_AGENCY, agency: AUDITOR_AGENCY, partnership: deps.config.partnership.id, scopes: [AUDITOR_SCOPE] },
    await loadTokenSigningKey(deps.config.token),
    deps.config.token,
  ).token;
  const browser = await chromium.launch(CHROMIUM);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    let started = performance.now();
    await page.goto(base);
    await page.fill('#token', token);
    await page.press('#token', 'Enter');
    await page.waitForSelector('#overview [data-cell]');
    const firstMs = performance.now() - started;
    started = performance.now();
    await page.reload();
    await page.waitForSelector('#overview [data-cell]');
    const reloadMs = performance.now() - started;
    return { firstMs, reloadMs };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
