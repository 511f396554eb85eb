/**
 * The alerts service for integration tests: a test MPI (and its directory: real
 * Redis under a unique prefix, the demo partnership loaded, tokens from the
 * real token endpoint) with the alerts service built on the same deps, plus
 * helpers to build alert messages. Not used by the service.
 */
import type { Bundle, BundleEntry, CareTeam, Flag, MessageHeader, Patient } from 'fhir/r4.js';
import type { Express } from 'express';
import request from 'supertest';
import type { HubConfig } from '../shared/config.js';
import { agencyPatientSystem, CodeSystems, IdentifierSystems } from '../shared/fhir/systems.js';
import { loadAlertsConfig, type AlertsConfig } from '../services/alerts/config.js';
import { createAlertsContext, alertsService } from '../services/alerts/module.js';
import type { AlertsContext } from '../services/alerts/context.js';
import { startTestMpi, type TestMpi } from './mpi.js';

export interface TestAlerts {
  readonly app: Express;
  readonly mpi: TestMpi;
  /** The service's parts over the same Redis (store, queue) for looking behind the API. */
  readonly ctx: AlertsContext;
  readonly config: HubConfig & AlertsConfig;
  /** `Authorization` header for a demo agency. */
  auth(agencyId: string, scope?: string): Promise<{ Authorization: string }>;
  /** `POST /fhir/$process-message` as a demo agency. */
  post(agencyId: string, body: unknown, scope?: string): Promise<request.Response>;
  /** `GET path` as a demo agency. */
  get(agencyId: string, path: string, scope?: string): Promise<request.Response>;
  close(): Promise<void>;
}

export async function startTestAlerts(env: Readonly<Record<string, string>> = {}): Promise<TestAlerts> {
  const mpi = await startTestMpi({}, env);
  const deps = mpi.dir.deps;
  const alertsConfig = loadAlertsConfig(env);
  const config: HubConfig & AlertsConfig = { ...deps.config, ...alertsConfig };
  const service = await alertsService.createService(deps, alertsConfig);
  const ctx = createAlertsContext(deps, alertsConfig);
  return {
    app: service.app,
    mpi,
    ctx,
    config,
    auth: (agencyId, scope) => mpi.auth(agencyId, scope),
    async post(agencyId, body, scope) {
      return request(service.app).post('/fhir/$process-message').set(await mpi.auth(agencyId, scope)).type('application/fhir+json').send(JSON.stringify(body));
    },
    async get(agencyId, path, scope) {
      return request(service.app).get(path).set(await mpi.auth(agencyId, scope));
    },
    async close() {
      await ctx.deliveries.close();
      await ctx.relay.close();
      await ctx.validation.close();
      await service.close();
      await mpi.close();
    },
  };
}

export interface AlertMessageOptions {
  readonly sender: string;
  /** The MessageHeader.id (a fresh one per call unless given). */
  readonly headerId?: string;
  readonly event?: 'alert-raised' | 'alert-updated' | 'alert-closed';
  /** The sender's id of the alert. */
  readonly flagId?: string;
  readonly category?: string;
  /** The sender's own identifier for the subject (default), or the CHI. */
  readonly subject: { readonly local?: string; readonly chi?: string };
  /** The NP/LP CareTeam; `null` for none. */
  readonly careTeam?: CareTeam | null;
  readonly destinations?: readonly string[];
  readonly status?: Flag['status'];
  /** MessageHeader.focus (default: the Flag). */
  readonly focus?: string;
  readonly detail?: string;
}

let counter = 0;

/** A Named Person / Lead Professional CareTeam with complete details (PD-L4). */
export function npLpCareTeam(organisation = 'edinburgh-social-work'): CareTeam {
  return {
    resourceType: 'CareTeam',
    id: 'np-lp',
    status: 'active',
    participant: [
      {
        role: [{ coding: [{ system: CodeSystems.careTeamRole, code: 'lead-professional' }] }],
        member: { display: 'Ross Campbell (Social worker)' },
        onBehalfOf: { reference: `Organization/${organisation}` },
      },
    ],
    telecom: [{ system: 'phone', value: '0131 496 0523', use: 'work' }],
  };
}

/** An alert message Bundle as an agency system would send it. */
export function alertMessage(o: AlertMessageOptions): Bundle {
  counter += 1;
  const identifier = [
    ...(o.subject.local ? [{ system: agencyPatientSystem(o.sender), value: o.subject.local }] : []),
    ...(o.subject.chi ? [{ system: IdentifierSystems.chi, value: o.subject.chi }] : []),
  ];
  const patient: Patient = { resourceType: 'Patient', id: 'subject', identifier, name: [{ given: ['Ailsa'], family: 'Morrison' }], birthDate: '2023-03-14' };
  const flag: Flag = {
    resourceType: 'Flag',
    id: o.flagId ?? `alert-${counter}`,
    status: o.status ?? 'active',
    category: [{ coding: [{ system: CodeSystems.alertCategory, code: o.category ?? 'child-protection' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '225915006', display: 'At risk of harm' }], text: o.detail ?? 'Child protection plan in place since 2026-11-02' },
    period: { start: '2026-11-02' },
    subject: { reference: 'Patient/subject' },
  };
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: o.headerId ?? `hdr-${Date.now()}-${counter}`,
    eventCoding: { system: CodeSystems.alertEvent, code: o.event ?? 'alert-raised' },
    source: { endpoint: `Organization/${o.sender}` },
    sender: { reference: `Organization/${o.sender}` },
    focus: [{ reference: o.focus ?? `Flag/${flag.id ?? ''}` }],
    ...(o.destinations ? { destination: o.destinations.map((d) => ({ endpoint: `Organization/${d}`, receiver: { reference: `Organization/${d}` } })) } : {}),
  };
  const careTeam = o.careTeam === undefined ? npLpCareTeam() : o.careTeam;
  const entries: BundleEntry[] = [header, flag, patient, ...(careTeam ? [careTeam] : [])].map((resource) => ({ fullUrl: `urn:test:${resource.resourceType}/${resource.id ?? ''}`, resource }));
  // References by type/id resolve against these entries (message.ts resolveEntry).
  return { resourceType: 'Bundle', type: 'message', timestamp: new Date().toISOString(), entry: entries };
}
