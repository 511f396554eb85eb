/**
 * What a transaction Bundle must keep about `fullUrl`s and the references
 * between its entries, for an endpoint that stores each entry's resource as
 * sent and does not rewrite references (the MPI's record load): two entries
 * may not share a `fullUrl` (FHIR invariant bdl-7), and a resource may not
 * carry a `urn:uuid:` / `urn:oid:` reference — FHIR asks the server to replace
 * such a reference with the id it gives the entry it names, so storing it as
 * sent would leave a reference nothing can ever resolve. Refused with every
 * problem listed, rather than stored dangling. Pure.
 */
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { isJsonObject } from '../json-object.js';

const TEMPORARY = /^urn:(uuid|oid):/;

/** Problems with the entries' `fullUrl`s and their temporary references; none when the Bundle keeps the rules. */
export function transactionReferenceIssues(entries: readonly unknown[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const firstWith = new Map<string, number>();
  const fullUrls = new Set(entries.flatMap((entry) => (isJsonObject(entry) && typeof entry.fullUrl === 'string' ? [entry.fullUrl] : [])));
  entries.forEach((entry, i) => {
    if (!isJsonObject(entry)) return; // the entry's own shape is refused where it is read
    const fullUrl = entry.fullUrl;
    if (typeof fullUrl === 'string') {
      const earlier = firstWith.get(fullUrl);
      if (earlier === undefined) firstWith.set(fullUrl, i);
      else issues.push(problem(`Bundle.entry[${i}].fullUrl`, `fullUrl ${fullUrl} is already the fullUrl of entry ${earlier}: each entry needs its own (FHIR bdl-7)`));
    }
    // The cheap test first: a bulk load's every entry is checked, and nearly all carry no temporary reference.
    if (!hasTemporaryReference(entry.resource)) return;
    for (const { path, reference } of temporaryReferences(entry.resource, `Bundle.entry[${i}].resource`)) {
      const target = fullUrls.has(reference) ? 'another entry of this Bundle' : 'no entry of this Bundle';
      issues.push(
        problem(path, `The reference ${reference} names ${target}; references between the entries of a transaction are not resolved here — refer to a stored resource (Type/id) or by identifier instead`),
      );
    }
  });
  return issues;
}

/** Whether any `reference` in `value` is a `urn:` id — without allocating (~0.2 µs for a Patient). */
function hasTemporaryReference(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasTemporaryReference);
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (typeof child === 'object') {
      if (hasTemporaryReference(child)) return true;
    } else if (key === 'reference' && typeof child === 'string' && TEMPORARY.test(child)) return true;
  }
  return false;
}

/** Every `reference` string in `value` that is a temporary `urn:` id, with its FHIRPath-like location. */
function* temporaryReferences(value: unknown, path: string): Generator<{ path: string; reference: string }> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* temporaryReferences(value[i], `${path}[${i}]`);
    return;
  }
  if (!isJsonObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string' && TEMPORARY.test(child)) yield { path: `${path}.reference`, reference: child };
    else if (typeof child === 'object' && child !== null) yield* temporaryReferences(child, `${path}.${key}`);
  }
}

function problem(expression: string, text: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'invalid', details: { text }, expression: [expression] };
}
