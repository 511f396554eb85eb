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
import type { Bundle, CareTeam, Patient, PractitionerRole } from 'fhir/r4.js';
import { loadDemoPartnership } from '../../fixtures/partnership/load.js';
import { PROJECT_ROOT, servesPartnership } from '../../shared/config.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import { loadMpiConfig, type MpiConfig } from './config.js';
import type { MpiContext } from './context.js';
import { createMpiContext } from './module.js';
import type { PartnershipSnapshot } from './partnership.js';
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
    report[agencyId] = await registerAsAgency(ctx, partnership, agencyId, (bundle.entry ?? []).map((e) => e.resource!), 'demographics');
  }
  await ctx.relay.close();
  await ctx.reclusterRequests.close();
  await ctx.estimationRequests.close();
  deps.log.info({ demographics: report }, 'demo demographic extracts loaded into the index');
  return report;
}

/**
 * Registers the demo people named by the demo CareTeams (`demo-child-1` …
 * `demo-adult-1`, fixtures/partnership/Patient) as records of the agencies of
 * their Named Person and Lead Professional — each under that agency's own
 * identifier system (value: the person's demo id) with their CHI — so an alert
 * about them resolves through the index like any other person's. Idempotent.
 * The hub runs it whenever it loads the demo partnership.
 */
export async function loadDemoPeople(deps: ServiceDeps, config: MpiConfig = loadMpiConfig()): Promise<DemographicsLoadReport> {
  const ctx = createMpiContext(deps, config);
  const partnership = await ctx.partnership.snapshot();
  const report: Record<string, { registered: number; unchanged: number }> = {};
  for (const [agencyId, people] of demoPeopleByAgency()) {
    const agency = partnership.agency(agencyId);
    if (!agency) throw new Error(`fixtures/partnership: ${agencyId} (a Named Person's or Lead Professional's agency) is not an agency in the directory`);
    // A peer partnership's agency registers its people in its own hub's index.
    if (!servesPartnership(deps.config.partnership, agency.partnership)) continue;
    const records = people.map((p) => agencyRecordOf(p, agency.patientIdentifierSystem));
    report[agencyId] = await registerAsAgency(ctx, partnership, agencyId, records, 'demo-people');
  }
  await ctx.relay.close();
  await ctx.reclusterRequests.close();
  await ctx.estimationRequests.close();
  deps.log.info({ demoPeople: report }, 'demo people of the CareTeams registered in the index');
  return report;
}

/** The demo people each agency holds: the agencies of the PractitionerRoles their CareTeam names. */
function demoPeopleByAgency(): Map<string, Patient[]> {
  const demo = loadDemoPartnership();
  const roles = new Map(demo.practitionerRoles.map((r): [string, PractitionerRole] => [`PractitionerRole/${r.id}`, r]));
  const patients = new Map(demo.patients.map((p): [string, Patient] => [`Patient/${p.id}`, p]));
  const byAgency = new Map<string, Patient[]>();
  const agenciesOf = (team: CareTeam) =>
    new Set((team.participant ?? []).flatMap((p) => roles.get(p.member?.reference ?? '')?.organization?.reference?.replace(/^Organization\//, '') ?? []));
  for (const team of demo.careTeams) {
    const patient = patients.get(team.subject?.reference ?? '');
    if (!patient) continue;
    for (const agencyId of agenciesOf(team)) {
      const list = byAgency.get(agencyId) ?? [];
      if (!list.includes(patient)) list.push(patient);
      byAgency.set(agencyId, list);
    }
  }
  return byAgency;
}

/** The demo person as the agency's system would send them: its own identifier (the demo id) and the CHI. */
function agencyRecordOf(person: Patient, agencySystem: string): Patient {
  const { id, meta: _meta, identifier, generalPractitioner: _gp, ...demographics } = person;
  const chi = (identifier ?? []).filter((i) => i.system === IdentifierSystems.chi);
  return { ...demographics, resourceType: 'Patient', identifier: [{ system: agencySystem, value: id }, ...chi] };
}

/** Registers records as `agencyId`'s system would; records already stored with the same content are left alone. */
async function registerAsAgency(
  ctx: MpiContext,
  partnership: PartnershipSnapshot,
  agencyId: string,
  patients: readonly Patient[],
  load: string,
): Promise<{ registered: number; unchanged: number }> {
  const agency = partnership.agency(agencyId);
  if (!agency) throw new Error(`${agencyId} is not an agency in the directory`);
  const submitting = { agencyId, system: agency.patientIdentifierSystem, systemsByAgency: partnership.systemsByAgency };
  const submissions = patients.map((p, i) => submissionOf(p, submitting, `Bundle.entry[${i}].resource`));
  // The load acts as the agency's system would; its changes are recorded under this load's id.
  // Records already stored with the same content are recognised by the registrar and left alone.
  const cause = { requestId: `${load}-${agencyId}-${randomUUID()}`, agent: { clientId: agencyId, agency: agencyId } };
  const results = await ctx.registrar.register(submissions, `Organization/${agencyId}`, agencyId, partnership, { cause });
  const unchanged = results.filter((r) => r.unchanged).length;
  return { registered: results.length - unchanged, unchanged };
}
