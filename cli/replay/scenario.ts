/**
 * The scenario format (documented for testers in fixtures/scenarios/README.md).
 * Validated with zod when a file is loaded, so a mistyped field is reported
 * with its place in the file before anything is sent.
 */
import { z } from 'zod';
import { SERVICE_NAMES } from '../../shared/config.js';
import { criterion, isCriterionCode } from '../../shared/maturity/catalogue.js';

/** How the access token a step presents is made. Everything but `valid` must be refused with 401. */
export const ACCESS_TOKEN_VARIANTS = [
  'valid',
  /** No Authorization header. */
  'none',
  /** Not a JWT at all. */
  'malformed',
  /** A genuine token's claims, re-signed with the partnership key, expired an hour ago. */
  'expired',
  /** Re-signed with the partnership key for another audience. */
  'wrong-audience',
  /** Re-signed with the partnership key naming another issuer. */
  'wrong-issuer',
  /** The genuine claims with `alg: none` and no signature. */
  'alg-none',
  /** HS256 keyed with the directory's published public key (the algorithm-confusion attack). */
  'hs256-public-key',
  /** Signed by a key the hub never registered, claiming the directory's key id. */
  'unregistered-key',
] as const;
export type AccessTokenVariant = (typeof ACCESS_TOKEN_VARIANTS)[number];

/** How the client assertion of a `token` step is made. Everything but `valid` must be refused with 401 (or 400). */
export const ASSERTION_VARIANTS = [
  'valid',
  /** No client_assertion field. */
  'missing',
  /** Signed by the agency's key, `exp` an hour ago. */
  'expired',
  /** `exp` further ahead than the 5 minutes the endpoint allows. */
  'too-long-lived',
  /** `aud` is not the token URL. */
  'wrong-audience',
  /** `iss`/`sub` name another agency than the key's. */
  'wrong-issuer',
  /** Unsigned, `alg: none`. */
  'alg-none',
  /** HS256 keyed with the agency's public key. */
  'hs256-public-key',
  /** Signed by a key the agency never registered, with the registered key's id. */
  'unregistered-key',
  /** A valid assertion sent twice: the step's answer is the second. */
  'replayed',
] as const;
export type AssertionVariant = (typeof ASSERTION_VARIANTS)[number];

const serviceName = z.enum(SERVICE_NAMES);
const queryValue = z.union([z.string(), z.number(), z.boolean()]);
const queryParams = z.record(z.string(), z.union([queryValue, z.array(queryValue)]));
const headers = z.record(z.string(), z.string());

const actorObject = z.strictObject({
  /** The acting agency (its Organization id and client id). */
  agency: z.string().min(1),
  /** A practitioner acting through the agency system: PractitionerRole id. */
  practitionerRole: z.string().min(1).optional(),
  /** The person acting for themselves: Patient id. */
  patient: z.string().min(1).optional(),
  /** Scopes to ask for (space-separated); the agency's registered scopes when omitted. */
  scope: z.string().min(1).optional(),
  token: z.enum(ACCESS_TOKEN_VARIANTS).optional(),
});
export type Actor = z.output<typeof actorObject>;
/** `"as": "nhs-lothian"` is short for `"as": { "agency": "nhs-lothian" }`. */
export const actorSchema = z.union([z.string().min(1).transform((agency): Actor => ({ agency })), actorObject]);

const edit = z.union([
  z.strictObject({ path: z.string().min(1), set: z.unknown() }),
  z.strictObject({ path: z.string().min(1), remove: z.literal(true) }),
]);
export type Edit = z.output<typeof edit>;

export const FHIR_INTERACTIONS = [
  'read',
  'vread',
  'search',
  'create',
  'update',
  'delete',
  'operation',
  'transaction',
  'batch',
  'history',
  'capabilities',
] as const;
export type FhirInteraction = (typeof FHIR_INTERACTIONS)[number];

const fhirRequest = z
  .strictObject({
    service: serviceName,
    interaction: z.enum(FHIR_INTERACTIONS),
    resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/, 'a FHIR resource type').optional(),
    id: z.string().min(1).optional(),
    /** `Type/id` instead of resourceType + id (e.g. a saved `${npRef}`). */
    reference: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
    /** Operation name, e.g. `$verify`. */
    name: z.string().regex(/^\$?[a-z][A-Za-z-]*$/, 'an operation name such as $verify').optional(),
    method: z.enum(['GET', 'POST']).optional(),
    /** Search parameters, operation query (GET) or conditional-update criteria. */
    params: queryParams.optional(),
    body: z.unknown().optional(),
    /** Changes applied to `body` after variables are substituted (e.g. edit a copy of a resource). */
    edits: z.array(edit).optional(),
    headers: headers.optional(),
  })
  .superRefine((r, ctx) => {
    const byReference = r.reference !== undefined;
    if (byReference && (r.resourceType !== undefined || r.id !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['reference'], message: 'give reference, or resourceType and id, not both' });
    }
    const need = (field: 'resourceType' | 'id' | 'version' | 'name' | 'body') => {
      if (byReference && (field === 'resourceType' || field === 'id')) return;
      if (r[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${r.interaction} needs ${field}` });
    };
    switch (r.interaction) {
      case 'read':
      case 'delete':
        need('resourceType');
        need('id');
        break;
      case 'vread':
        need('resourceType');
        need('id');
        need('version');
        break;
      case 'search':
        break;
      case 'create':
        need('resourceType');
        need('body');
        break;
      case 'update':
        need('resourceType');
        need('body');
        if (r.id === undefined && r.params === undefined) {
          ctx.addIssue({ code: 'custom', path: ['id'], message: 'update needs id, or params for a conditional update' });
        }
        break;
      case 'operation':
        need('name');
        if (r.id !== undefined && r.resourceType === undefined) {
          ctx.addIssue({ code: 'custom', path: ['resourceType'], message: 'an instance operation needs resourceType' });
        }
        break;
      case 'transaction':
      case 'batch':
        need('body');
        break;
      case 'history':
        if (r.id !== undefined && r.resourceType === undefined) {
          ctx.addIssue({ code: 'custom', path: ['resourceType'], message: 'instance history needs resourceType' });
        }
        break;
      case 'capabilities':
        break;
    }
  });
export type FhirRequest = z.output<typeof fhirRequest>;

const httpRequest = z
  .strictObject({
    service: serviceName,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
    /** `/fhir/…`, or exactly one `${var}` holding a URL saved from an answer (e.g. a Content-Location): only its path is used. */
    path: z.string().refine((p) => p.startsWith('/') || /^\$\{[^}]+\}$/.test(p), { message: 'path starts with / or is one saved ${variable}' }),
    query: queryParams.optional(),
    headers: headers.optional(),
    /** A JSON body, sent as application/fhir+json unless `headers` says otherwise. */
    body: z.unknown().optional(),
    /** A raw text body (malformed JSON, other content types). */
    text: z.string().optional(),
    /** A form body (application/x-www-form-urlencoded). */
    form: z.record(z.string(), z.string()).optional(),
    /** Pads the body with trailing spaces to this many bytes (still valid JSON): for size limits. */
    padTo: z.number().int().positive().max(256 * 1024 * 1024).optional(),
    edits: z.array(edit).optional(),
  })
  .refine((r) => [r.body, r.text, r.form].filter((b) => b !== undefined).length <= 1, {
    message: 'give at most one of body, text, form',
  });
export type HttpStepRequest = z.output<typeof httpRequest>;

const tokenRequest = z.strictObject({
  assertion: z.enum(ASSERTION_VARIANTS).default('valid'),
  /** Overrides the actor's scope for this request. */
  scope: z.string().min(1).optional(),
  /** For `wrong-issuer`: the agency the assertion pretends to come from. */
  impersonate: z.string().min(1).optional(),
  /** Extra or replacement form fields (e.g. a wrong grant_type). */
  form: z.record(z.string(), z.string()).optional(),
});
export type TokenStepRequest = z.output<typeof tokenRequest>;

const check = z
  .strictObject({
    path: z.string(),
    equals: z.unknown().optional(),
    notEquals: z.unknown().optional(),
    oneOf: z.array(z.unknown()).optional(),
    contains: z.unknown().optional(),
    notContains: z.unknown().optional(),
    exists: z.boolean().optional(),
    matches: z
      .string()
      .refine((s) => isRegExp(s), 'a valid regular expression')
      .optional(),
    atLeast: z.number().optional(),
    atMost: z.number().optional(),
  })
  .refine((c) => CHECK_OPERATORS.some((op) => op in c), { message: `a check needs one of ${'equals, notEquals, oneOf, contains, notContains, exists, matches, atLeast, atMost'}` });
export type Check = z.output<typeof check>;

const CHECK_OPERATORS = ['equals', 'notEquals', 'oneOf', 'contains', 'notContains', 'exists', 'matches', 'atLeast', 'atMost'];

function isRegExp(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}

const httpStatus = z.number().int().min(100).max(599);
const expectation = z.strictObject({
  /** One status or a list of acceptable ones; any 2xx when omitted. */
  status: z.union([httpStatus, z.array(httpStatus).min(1)]).optional(),
  resourceType: z.string().optional(),
  /** The body is an OperationOutcome with an issue of this code (e.g. `forbidden`, `login`, `not-found`). */
  outcome: z.string().optional(),
  checks: z.array(check).optional(),
});
export type Expectation = z.output<typeof expectation>;

const criterionCode = z.string().refine((c) => isCriterionCode(c) && criterion(c) !== undefined, 'a maturity criterion code such as SI-L3');

const waitFor = z.strictObject({
  /** Give up after this long (default 10 s). */
  timeoutMs: z.number().int().positive().max(600_000).default(10_000),
  /** Pause between attempts (default 250 ms). */
  intervalMs: z.number().int().positive().max(60_000).default(250),
});

export const stepSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    as: actorSchema.optional(),
    fhir: fhirRequest.optional(),
    http: httpRequest.optional(),
    token: tokenRequest.optional(),
    expect: expectation.optional(),
    /** Variables to capture: name → path in the response (`id`, `$headers.location`, `entry.0.resource`). */
    save: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)'), z.string()).optional(),
    /** Repeat the request until `expect` passes, or fail after the timeout. */
    waitFor: z.union([z.literal(true).transform(() => waitFor.parse({})), waitFor]).optional(),
    /** Maturity criteria the hub must have recorded as evidenced by this step's exchanges. */
    criteria: z.array(criterionCode).optional(),
    /** Criteria this step must NOT be recorded as evidencing (e.g. IM-L4 for an ISP that is not signed by all). */
    criteriaAbsent: z.array(criterionCode).optional(),
  })
  .superRefine((s, ctx) => {
    const kinds = (['fhir', 'http', 'token'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: `a step makes exactly one request: fhir, http or token (got ${kinds.length ? kinds.join(', ') : 'none'})` });
    }
    if (s.token !== undefined && s.as === undefined) {
      ctx.addIssue({ code: 'custom', path: ['as'], message: 'a token step needs "as": the agency asking' });
    }
    if (s.fhir !== undefined && s.as === undefined) {
      ctx.addIssue({ code: 'custom', path: ['as'], message: 'a fhir step needs "as" (use "as": {"agency": …, "token": "none"} to send no token)' });
    }
  });
export type Step = z.output<typeof stepSchema>;

export const scenarioSchema = z.strictObject({
  /** Lets editors validate against a JSON schema; ignored here. */
  $schema: z.string().optional(),
  name: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  /** Initial variables, usable as `${name}`. */
  variables: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(stepSchema).min(1),
});
export type Scenario = z.output<typeof scenarioSchema>;

/** The services a scenario talks to (token steps talk to the directory). */
export function servicesOf(scenario: Scenario): (typeof SERVICE_NAMES)[number][] {
  const names = new Set<(typeof SERVICE_NAMES)[number]>();
  for (const step of scenario.steps) {
    if (step.fhir) names.add(step.fhir.service);
    if (step.http) names.add(step.http.service);
    if (step.token || (step.as && (step.as.token ?? 'valid') !== 'none')) names.add('directory');
  }
  return [...names];
}
