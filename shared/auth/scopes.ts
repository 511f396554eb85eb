/**
 * SMART v1 system and patient scopes, and the hub's operation scopes.
 *
 * Grammar: `<context>/<Type>.<action>` where `<context>` is `system` (an agency
 * system, for any person the rules let it see) or `patient` (the person acting
 * for themselves, about their own record only — a token carrying the `patient`
 * claim); a patient scope never covers a system scope or the reverse; and `<Type>` is a FHIR resource type or
 * `*`, and `<action>` is `read`, `write`, `*` (read and write), or the name of
 * a hub operation (`system/Contract.sign`, `system/Task.review`).
 *
 * Wildcards: a type `*` covers every type; an action `*` covers `read` and
 * `write` only. Operation scopes are privileges of their own (signing the ISP,
 * deciding a match) and are never implied by `*` — an agency given
 * `system/*.*` still needs `system/Contract.sign` to sign a contract.
 */

export type ScopeAction = 'read' | 'write' | '*';

export type ScopeContext = 'system' | 'patient';

export interface ParsedScope {
  readonly context: ScopeContext;
  /** A FHIR resource type, or `*` for every type. */
  readonly resourceType: string;
  /** `read`, `write`, `*`, or an operation name. */
  readonly action: string;
}

/** The hub's operation scopes (actions beyond read/write). */
export const HubScopes = {
  /** Add a partner's signature to the ISP (`Contract/$sign`). */
  contractSign: 'system/Contract.sign',
  /** Decide a manual match review (`Task/$resolve`, corrections). */
  taskReview: 'system/Task.review',
  /** Re-estimate the MPI's matching model from the index (`$estimate-model`): administration of the index Persons. */
  matchingModel: 'system/Person.estimate',
  /** Attach documentary evidence to a maturity cell (the audit service's DocumentReferences). */
  evidenceAttest: 'system/AuditEvent.attest',
} as const;

const SCOPE = /^(system|patient)\/(\*|[A-Z][A-Za-z]{0,63})\.(\*|[a-z][a-zA-Z-]{0,63})$/;

/**
 * Scopes as parsed, by their text: `hasScope` parses every scope a token grants against the one a request needs, on
 * every request (an agency's token grants dozens: ~10 kB of match arrays and substrings per alert raised). The
 * scopes seen are few — the directory's grants and the code's requirements — so they are kept, up to a bound.
 */
const parsedScopes = new Map<string, ParsedScope | null>();
const PARSED_SCOPES_KEPT = 1024;

export function parseScope(scope: string): ParsedScope | undefined {
  const known = parsedScopes.get(scope);
  if (known !== undefined) return known ?? undefined;
  const m = SCOPE.exec(scope);
  const parsed = m ? Object.freeze({ context: m[1] as ScopeContext, resourceType: m[2]!, action: m[3]! }) : null;
  if (parsedScopes.size >= PARSED_SCOPES_KEPT) parsedScopes.clear();
  parsedScopes.set(scope, parsed);
  return parsed ?? undefined;
}

export function isValidScope(scope: string): boolean {
  return SCOPE.test(scope);
}

export const readScope = (resourceType: string): string => `system/${resourceType}.read`;
export const writeScope = (resourceType: string): string => `system/${resourceType}.write`;
export const patientReadScope = (resourceType: string): string => `patient/${resourceType}.read`;
export const patientWriteScope = (resourceType: string): string => `patient/${resourceType}.write`;

/**
 * What a person acting for themselves may be granted (a token with the `patient` claim):
 * read their own record, and add their own views to their plan ("my views", PC-L4).
 */
export const PATIENT_SCOPES: readonly string[] = ['patient/*.read', patientWriteScope('CarePlan')];

/** Splits an OAuth `scope` parameter or claim (space-separated) into distinct scopes, in order. */
export function splitScopes(scope: string | undefined): string[] {
  if (!scope) return [];
  return [...new Set(scope.split(/\s+/).filter((s) => s.length > 0))];
}

/** Whether one granted scope covers one required scope. Invalid scopes cover nothing. */
export function scopeCovers(granted: string, required: string): boolean {
  const g = parseScope(granted);
  const r = parseScope(required);
  if (!g || !r) return false;
  if (g.context !== r.context) return false;
  if (g.resourceType !== '*' && g.resourceType !== r.resourceType) return false;
  if (g.action === r.action) return true;
  return g.action === '*' && (r.action === 'read' || r.action === 'write');
}

/**
 * Whether the granted scopes (an array, or a space-separated claim) cover the
 * required one. Pure; the only place wildcard rules are decided.
 */
export function hasScope(granted: string | readonly string[], required: string): boolean {
  const list = typeof granted === 'string' ? splitScopes(granted) : granted;
  return list.some((g) => scopeCovers(g, required));
}
