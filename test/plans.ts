/**
 * The plans service for integration tests: a test MPI (and its directory: real
 * Redis under a unique prefix, the demo partnership loaded, tokens from the
 * real token endpoint) with the plans service built on the same deps, plus
 * helpers to build plans and call the API as a demo agency (optionally as one
 * of its practitioners). Not used by the service.
 */
import type { CarePlan, Consent, ConsentProvision, Observation, QuestionnaireResponse, ServiceRequest } from 'fhir/r4.js';
import type { Express } from 'express';
import request from 'supertest';
import { agencyPatientSystem, CodeSystems, IdentifierSystems, type ConsentCategory } from '../shared/fhir/systems.js';
import { loadAlertsConfig } from '../services/alerts/config.js';
import { alertsService } from '../services/alerts/module.js';
import { SearchIndex } from '../services/audit/search-index.js';
import { loadPlansConfig, type PlansConfig } from '../services/plans/config.js';
import { plansService } from '../services/plans/module.js';
import { consentStore, withPerson } from '../services/plans/consent-store.js';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../shared/redis/connection.js';
import { startTestMpi, type TestMpi } from './mpi.js';

/** Who calls: a demo agency, optionally as one of its PractitionerRoles (`role-ross-campbell`). */
export interface As {
  readonly agency: string;
  readonly role?: string;
  readonly scope?: string;
}

export interface TestPlans {
  readonly app: Express;
  readonly mpi: TestMpi;
  readonly config: PlansConfig;
  /** `Authorization` header for a caller. */
  auth(as: As | string): Promise<{ Authorization: string }>;
  get(as: As | string, path: string): Promise<request.Response>;
  post(as: As | string, path: string, body: unknown): Promise<request.Response>;
  put(as: As | string, path: string, body: unknown, ifMatch?: string): Promise<request.Response>;
  /** The alerts service on the same Redis and directory (alerts raised through it show in the chronology); closed with the rest. */
  alerts(): Promise<Express>;
  /** Indexes the audit log up to now, as the audit service does in a running hub (what `$accesses` reads). */
  indexAudit(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestPlans(env: Readonly<Record<string, string>> = {}): Promise<TestPlans> {
  const mpi = await startTestMpi({}, env);
  const config = loadPlansConfig(env);
  const service = await plansService.createService(mpi.dir.deps, config);
  const tokens = new Map<string, Promise<string>>();
  let alerts: Awaited<ReturnType<typeof alertsService.createService>> | undefined;
  const auth = async (as: As | string) => {
    const who = typeof as === 'string' ? { agency: as } : as;
    const key = `${who.agency} ${who.role ?? ''} ${who.scope ?? ''}`;
    let token = tokens.get(key);
    if (!token) {
      token = mpi.dir.token(who.agency, { ...(who.role ? { practitioner_role: who.role } : {}), ...(who.scope ? { scope: who.scope } : {}) });
      tokens.set(key, token);
    }
    return { Authorization: `Bearer ${await token}` };
  };
  return {
    app: service.app,
    mpi,
    config,
    auth,
    async get(as, path) {
      return request(service.app).get(path).set(await auth(as));
    },
    async post(as, path, body) {
      return request(service.app).post(path).set(await auth(as)).type('application/fhir+json').send(JSON.stringify(body));
    },
    async put(as, path, body, ifMatch) {
      const headers = { ...(await auth(as)), ...(ifMatch !== undefined ? { 'If-Match': ifMatch } : {}) };
      return request(service.app).put(path).set(headers).type('application/fhir+json').send(JSON.stringify(body));
    },
    async alerts() {
      alerts ??= await alertsService.createService(mpi.dir.deps, loadAlertsConfig({}));
      return alerts.app;
    },
    async indexAudit() {
      await new SearchIndex(mpi.dir.redis, mpi.dir.keys).catchUp();
    },
    async close() {
      await alerts?.close();
      await service.close();
      await mpi.close();
    },
  };
}

/** The subject as an agency identifies the person (its own identifier, or the CHI). */
export function subjectOf(by: { agency: string; local: string } | { chi: string }): CarePlan['subject'] {
  return 'chi' in by ? { identifier: { system: IdentifierSystems.chi, value: by.chi } } : { identifier: { system: agencyPatientSystem(by.agency), value: by.local } };
}

export function carePlan(subject: CarePlan['subject'], overrides: Partial<CarePlan> = {}): CarePlan {
  return {
    resourceType: 'CarePlan',
    status: 'active',
    intent: 'plan',
    title: "Ailsa's child's plan",
    description: 'Support at home and at nursery; review in six weeks.',
    subject,
    activity: [{ detail: { status: 'in-progress', description: 'Weekly health visitor contact', scheduledString: 'Tuesdays' } }],
    ...overrides,
  };
}

export function assessment(subject: CarePlan['subject'], overrides: Partial<QuestionnaireResponse> = {}): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    questionnaire: 'https://fhir.infoshare.scot/Questionnaire/wellbeing-assessment',
    subject,
    authored: '2026-11-20',
    item: [{ linkId: 'safe', text: 'Safe', answer: [{ valueString: 'No current concerns' }] }],
    ...overrides,
  };
}

/** A notable event for the chronology (an Observation), recorded by the agency that posts it. */
export function notableEvent(subject: CarePlan['subject'], overrides: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Missing from home overnight' },
    subject,
    effectiveDateTime: '2026-11-18T23:30:00Z',
    valueString: 'Found safe next morning; return interview held',
    ...overrides,
  };
}

export function serviceRequest(subject: CarePlan['subject'], performer: string, overrides: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    code: { text: 'Family support worker' },
    subject,
    performer: [{ reference: `Organization/${performer}` }],
    ...overrides,
  };
}

/** A grant to one actor (`Organization/<agency>` or `PractitionerRole/<id>`) in IHE PCF's shape. */
export interface Grant {
  readonly actor?: string;
  readonly classes?: readonly ConsentCategory[];
  readonly type?: 'permit' | 'deny';
  readonly period?: ConsentProvision['period'];
}

/** A Consent about `patient` (`Patient/<id>`): base "deny", each grant a nested provision. */
export function consent(patient: string, grants: readonly Grant[], overrides: Partial<Consent> = {}): Consent {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: CodeSystems.consentScope, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: patient },
    policyRule: { coding: [{ system: CodeSystems.actCode, code: 'OPTIN' }] },
    provision: {
      type: 'deny',
      provision: grants.map((g) => ({
        type: g.type ?? 'permit',
        ...(g.actor ? { actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: g.actor } }] } : {}),
        class: (g.classes ?? ['plans']).map((code) => ({ system: CodeSystems.consentCategory, code })),
        ...(g.period ? { period: g.period } : {}),
      })),
    },
    ...overrides,
  };
}

/** Ailsa's (demo-child-1) Lead Professional, who grants her Consents. */
export const AILSA_LP: As = { agency: 'edinburgh-social-work', role: 'role-ross-campbell' };

/** Stores a Consent straight into the plans service's store (for tests of other services that only read it). */
export async function storeConsent(redis: Redis, keys: KeySpace, body: Consent, personId: string): Promise<Consent> {
  return consentStore(redis, keys).create(withPerson(body, personId), { cause: { requestId: 'test-consent', agent: {} } });
}

// Its home is test/refusals.ts (every service's tests compare refusals with unknown ids); kept importable from here.
export { answerWithoutId } from './refusals.js';
