/**
 * Loads the demo agencies' demographic extracts (fixtures/demographics/) into
 * the index, as those agencies' initial loads would: what `npm start` does so
 * the demo partnership has people to match, reviews to decide and a matching
 * report to read. Idempotent: records already stored with the same content
 * are left alone (no new version, no re-match).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, Patient } from 'fhir/r4.js';
import { PROJECT_ROOT, servesPartnership } from '../../shared/config.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import { loadMpiConfig, type MpiConfig } from './config.js';
import { createMpiContext } from './module.js';
import { submissionOf } from './submission.js';

export const DEMO_DEMOGRAPHICS_DIR = path.join(PROJECT_ROOT, 'fixtures', 'demographics');

export interface DemographicsLoadReport {
  readonly [agencyId: string]: { readonly registered: number; readonly unchanged: number };
}

/** `config`: the MPI's own settings (by default read from the environment, as the MPI would). */
export async function loadDemoDemographics(deps: ServiceDeps, config: MpiConfig = loadMpiConfig()): Promise<DemographicsLoadReport> {
  const ctx = createMpiContext(deps, config);
  const partnership = await ctx.partnership.snapshot();
  const files = (await fs.readdir(DEMO_DEMOGRAPHICS_DIR)).filter((f) => f.endsWith('.json') && f !== 'truth.json').sort();
  const report: Record<string, { registered: number; unchanged: number }> = {};
  for (const file of files) {
    const agencyId = path.basename(file, '.json');
    const agency = partnership.agency(agencyId);
    if (!agency) throw new Error(`fixtures/demographics/${file}: ${agencyId} is not an agency in the directory`);
    // A peer partnership's agency loads into its own hub's index, not this one.
    if (!servesPartnership(deps.config.partnership, agency.partnership)) continue;
    const bundle = JSON.parse(await fs.readFile(path.join(DEMO_DEMOGRAPHICS_DIR, file), 'utf8')) as Bundle<Patient>;
    const submitting = { agencyId, system: agency.patientIdentifierSystem, systemsByAgency: partnership.systemsByAgency };
    const submissions = (bundle.entry ?? []).map((e, i) => submissionOf(e.resource!, submitting, `Bundle.entry[${i}].resource`));
    const stored = await ctx.store.getRecords(submissions.map((s) => s.recordId));
    const changed = submissions.filter((s, i) => !sameContent(stored[i], s.patient));
    // The load acts as the agency's system would; its changes are recorded under this load's id.
    const cause = { requestId: `demographics-${agencyId}-${randomUUID()}`, agent: { clientId: agencyId, agency: agencyId } };
    await ctx.registrar.register(changed, `Organization/${agencyId}`, agencyId, partnership, { cause });
    report[agencyId] = { registered: changed.length, unchanged: submissions.length - changed.length };
  }
  await ctx.relay.close();
  deps.log.info({ demographics: report }, 'demo demographic extracts loaded into the index');
  return report;
}

function sameContent(stored: Patient | undefined, submitted: Patient): boolean {
  if (!stored) return false;
  const { id: _id, meta: _meta, ...content } = stored;
  return JSON.stringify(content) === JSON.stringify(submitted);
}
