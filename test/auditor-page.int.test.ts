/**
 * The auditor's page in a real headless Chromium (playwright-core, Debian's chromium): signing
 * in with an auditor token, the Annex B grid with every status in words, opening a cell,
 * searching the log, and using it all from the keyboard; then, over a signed and verified
 * log, its checkpoint and verification status and the performance panel's trend. Writes a
 * screenshot to test/output/.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceRouter } from '../shared/http/router.js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServiceApp } from '../shared/http/service-app.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { loadAuditConfig } from '../services/audit/config.js';
import { createEvidenceContext, logFactsOf, type EvidenceContext } from '../services/audit/evidence-context.js';
import { verifyStoredLog } from '../services/audit/log-verify.js';
import { createAuditContext, createLogAppender } from '../services/audit/module.js';
import type { PerformanceSummary } from '../services/audit/domain/performance.js';
import { evidenceRoutes } from '../services/audit/evidence-routes.js';
import type { ExchangeRecord } from '../shared/audit/exchange.js';

/**
 * The page's document, typed only as far as these checks read it (the Node build has no DOM
 * types). Predicates run in the page, so each names `globalThis.document` itself; functions,
 * not strings: the page's Content-Security-Policy forbids evaluating strings.
 */
interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  activeElement: { id: string; getAttribute(name: string): string | null } | null;
}
type InPage = typeof globalThis & { document: PageDocument; sessionStorage: { clear(): void } };

const OUTPUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'output');

let dir: TestDirectory;
let ctx: EvidenceContext;
let server: Server;
let browser: Browser;
let page: Page;
let base: string;
let token: string;

function exchange(criteria: string[], outcome: ExchangeRecord['outcome'] = '0'): ExchangeRecord {
  return {
    requestId: `page-${Math.random().toString(36).slice(2)}`,
    service: 'alerts',
    type: 'rest',
    subtype: '$process-message',
    action: 'C',
    outcome,
    agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian-hscp' },
    subject: 'Person/page-test-person',
    entities: [],
    criteria,
  };
}

beforeAll(async () => {
  dir = await startTestDirectory();
  ctx = createEvidenceContext(dir.deps);
  // Logged exchanges behind the grid: MA demonstrated to level 4, MA-L5 shown without L4's gap closed elsewhere.
  await Promise.all([exchange(['MA-L3']), exchange(['MA-L3', 'MA-L4']), exchange(['PD-L2', 'PD-L3']), exchange(['PD-L4'], '4')].map((e) => dir.deps.audit.record(e)));
  await ctx.index.catchUp();
  ({ server, base } = await serveEvidence(ctx));
  token = await dir.token('nhs-lothian', { scope: 'system/AuditEvent.read' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await dir?.close();
});

/** The audit service's evidence routes (the page among them) on a free port. */
async function serveEvidence(evidence: EvidenceContext): Promise<{ server: Server; base: string }> {
  const routes = serviceRouter();
  routes.use(evidenceRoutes(evidence));
  const app = createServiceApp({ service: 'audit', redis: dir.redis, audit: dir.deps.audit, log: dir.deps.log, bodyLimit: '1mb', routes });
  const listening = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => listening.once('listening', () => resolve()));
  return { server: listening, base: `http://127.0.0.1:${(listening.address() as AddressInfo).port}` };
}

async function signIn(at = base): Promise<void> {
  await page.goto(at);
  await page.evaluate(() => (globalThis as InPage).sessionStorage.clear());
  await page.reload();
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#overview [data-cell]');
}

describe("the auditor's page in Chromium", () => {
  it('asks for a token first, and says so when the token lacks the auditor scope', async () => {
    await page.goto(base);
    expect(await page.isVisible('#login-form')).toBe(true);
    expect(await page.isHidden('#main')).toBe(true);
    await page.fill('#token', await dir.token('edinburgh-education'));
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => (globalThis as InPage).document.querySelector('#login-message')?.textContent?.includes('auditor scope'));
    expect(await page.isHidden('#main')).toBe(true);
  });

  it('shows the 9 × 5 grid with each status written out, not only coloured', async () => {
    await signIn();
    expect(await page.locator('#overview table.grid tbody tr').count()).toBe(9);
    expect(await page.locator('#overview [data-cell]').count()).toBe(45);
    const ma3 = page.locator('[data-cell="MA-L3"]');
    expect(await ma3.innerText()).toMatch(/demonstrated/);
    expect(await ma3.innerText()).toMatch(/2 exchanges/);
    expect(await page.locator('[data-cell="PD-L4"]').innerText()).toMatch(/not yet/); // a refusal is not PD-L4 evidence
    expect(await page.locator('[data-cell="GV-L3"]').innerText()).toMatch(/documentary evidence needed/);
    const maRow = page.locator('#overview tbody tr').nth(6);
    expect(await maRow.locator('th').innerText()).toMatch(/^MA /);
    expect(await maRow.locator('td').last().innerText()).toMatch(/level 4/);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'auditor-page.png'), fullPage: true });
  });

  it('opens a cell: its Annex B text, its evidence count and the exchanges behind it', async () => {
    await signIn();
    await page.click('[data-cell="MA-L4"]');
    await page.waitForSelector('#cell h2:has-text("MA-L4")');
    const detail = await page.locator('#cell').innerText();
    expect(detail).toMatch(/Annex B/);
    expect(detail).toMatch(/structured alert/i);
    expect(detail).toMatch(/Exchanges evidencing it\s*1/);
    await page.click('[data-search-criterion="MA-L4"]');
    await page.waitForFunction(() => (globalThis as InPage).document.querySelector('#log-results [role=status]')?.textContent?.startsWith('1 exchange'));
    expect(await page.locator('#log-table tbody tr').count()).toBe(1);
    expect(await page.locator('#log-table tbody tr').innerText()).toMatch(/MA-L4/);
  });

  it('searches the log with its filters', async () => {
    await signIn();
    await page.selectOption('#log-form select[name=outcome]', '4');
    await page.click('#log-form button[type=submit]');
    // The first page of the unfiltered log is on screen already: wait for the filtered one to replace it.
    await page.waitForFunction(() => Array.from((globalThis as InPage).document.querySelectorAll('#log-table tbody tr')).every((r) => r.textContent?.includes('4 refused')));
    const rows = await page.locator('#log-table tbody tr').allInnerTexts();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r) => r.includes('4 refused'))).toBe(true);
  });

  it('pages the log by the entry it continues from: exchanges logged meanwhile neither reappear nor push a row off', async () => {
    const logAgainstAp = (n: number) => Promise.all(Array.from({ length: n }, () => dir.deps.audit.record(exchange(['AP-L2']))));
    await logAgainstAp(30);
    await ctx.index.catchUp();
    await signIn();
    await page.selectOption('#log-form select[name=criterion]', 'AP-L2');
    await page.click('#log-form button[type=submit]');
    await page.waitForFunction(() => (globalThis as InPage).document.querySelector('#log-results [role=status]')?.textContent?.startsWith('30 exchanges'));
    const ids = () => page.locator('#log-table tbody tr td:last-child').allInnerTexts();
    const newest = await ids();
    expect(newest).toHaveLength(25);
    // Three more arrive at the top of the log while the auditor reads the first page.
    await logAgainstAp(3);
    await ctx.index.catchUp();
    await page.click('#log-results button:has-text("Older")');
    await page.waitForFunction(() => (globalThis as InPage).document.querySelector('#log-results [role=status]')?.textContent?.includes('showing 5,'));
    const older = await ids();
    expect(older).toHaveLength(5);
    expect(older.filter((id) => newest.includes(id))).toEqual([]);
    expect(await page.locator('#log-results button:has-text("Older")').count()).toBe(0);
    await page.click('#log-results button:has-text("Newer")');
    await page.waitForFunction(() => (globalThis as InPage).document.querySelector('#log-results [role=status]')?.textContent?.includes('showing 25,'));
    // The page just newer than the one read: the same 25 as before, not the three that arrived meanwhile.
    expect(await ids()).toEqual(newest);
    expect(await page.locator('#log-results [role=status]').innerText()).toMatch(/^33 exchanges match/);
    expect(await page.locator('#log-results button:has-text("Newer")').count()).toBe(1);
  });

  it('works from the keyboard: focus lands on the grid, Tab moves cell to cell, Enter opens one', async () => {
    await signIn();
    await page.waitForFunction(() => (globalThis as InPage).document.activeElement?.getAttribute('data-cell') === 'IM-L1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as InPage).document.activeElement?.getAttribute('data-cell'))).toBe('IM-L2');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#cell h2:has-text("IM-L2")');
    expect(await page.evaluate(() => (globalThis as InPage).document.activeElement?.id)).toBe('cell');
  });
});

/** One interval's performance summary: the MPI's registrations at this p99. */
function summary(from: string, to: string, p99Ms: number): PerformanceSummary {
  return { from, to, unreachable: [], rows: [{ service: 'mpi', exchange: 'http POST /fhir', volume: 40, p50Ms: 12, p99Ms, failures: 1 }] };
}

describe("the auditor's page over the signed log", () => {
  let logged: Server;
  let loggedBase: string;
  let appender: { close(): Promise<void> } | undefined;
  let size = 0;

  beforeAll(async () => {
    // The audit service as it runs: the Merkle log appended and signed as exchanges arrive, the page reading its state.
    const audit = await createAuditContext(dir.deps, loadAuditConfig({ INFOSHARE_AUDIT_CHECKPOINT_SECONDS: '0.05' }));
    const withLog = createEvidenceContext(dir.deps, logFactsOf(audit.store));
    const log = createLogAppender(audit, dir.deps, (batch) => withLog.index.indexBatch(batch));
    appender = log;
    log.appender.start();
    for (const deadline = Date.now() + 20_000; ; ) {
      const [length, latest] = await Promise.all([dir.redis.xlen(audit.keys.stream), audit.store.latestCheckpoint()]);
      if (latest && latest.size >= length) break;
      if (Date.now() > deadline) throw new Error(`no checkpoint covers the ${length} logged exchanges yet`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const report = await verifyStoredLog(dir.redis, audit.keys, audit.store, audit.signer.verifier, audit.signer.origin, { threads: 1 });
    expect(report.ok).toBe(true);
    size = report.size;
    await audit.store.saveVerification({ at: '2026-12-06T12:00:00.000Z', size: report.size, root: report.root, ok: report.ok });
    // Two intervals of the performance summary, so the panel has a trend to show.
    await withLog.performance.add(summary('2026-12-06T11:58:00.000Z', '2026-12-06T11:59:00.000Z', 80));
    await withLog.performance.add(summary('2026-12-06T11:59:00.000Z', '2026-12-06T12:00:00.000Z', 95));
    ({ server: logged, base: loggedBase } = await serveEvidence(withLog));
  });

  afterAll(async () => {
    await appender?.close();
    await new Promise<void>((resolve) => logged?.close(() => resolve()));
  });

  it('shows the latest signed checkpoint, the last verification, and the performance panel with each exchange\'s trend', async () => {
    await signIn(loggedBase);
    const status = await page.locator('#log-status').innerText();
    // The page's own requests are audited exchanges too: the log (and its checkpoints) grew past the verified size since.
    const signed = /Latest signed checkpoint\s+fhir\.infoshare\.scot\/lothian-hscp\/audit-log — tree size (\d+), root \S+=, issued \S+/.exec(status);
    expect(Number(signed?.[1])).toBeGreaterThanOrEqual(size);
    expect(status).toMatch(new RegExp(`Verification\\s+✔ verified: ${size} entries re-hashed to the signed root at 2026-12-06T12:00:00.000Z`));
    await page.waitForSelector('#performance table');
    const panel = await page.locator('#performance').innerText();
    expect(panel).toMatch(/latest interval 2026-12-06T11:59:00.000Z – 2026-12-06T12:00:00.000Z/);
    const row = await page.locator('#performance tbody tr').first().innerText();
    expect(row).toMatch(/mpi\s+http POST \/fhir\s+40\s+12 ms\s+95 ms\s+1/);
    expect(row).toMatch(/80 → 95 ms over 2 intervals/);
  });
});
