/**
 * An agency's extract as `infoshare load` reads it: a FHIR Bundle (a
 * `transaction` of `POST Patient` entries, or any Bundle of Patients) or NDJSON
 * (one Patient per line, the FHIR bulk-data format). Every problem is found
 * before anything is sent, each named by where it is in the file.
 */
import type { Bundle, BundleEntry, Patient } from 'fhir/r4.js';

/** One Patient of the input and where it came from, to name it in messages. */
export interface InputRecord {
  readonly patient: Patient;
  /** `line 12` (NDJSON) or `entry[3]` (the file's Bundle.entry[3]), for messages. */
  readonly where: string;
  /** The entry's fullUrl, kept so the MPI's messages and the file agree. */
  readonly fullUrl?: string;
}

/** The input cannot be loaded; the message says where and why. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** More problems than this are summarised. */
const MAX_PROBLEMS = 20;

/** NDJSON by name, as bulk-data exports are named; anything else is read as one JSON document. */
export function isNdjsonName(fileName: string): boolean {
  return /\.(ndjson|jsonl)$/i.test(fileName);
}

export function parseInput(text: string, fileName: string): InputRecord[] {
  if (text.trim() === '') throw new InputError(`${fileName} is empty: nothing to load`);
  const records = isNdjsonName(fileName) ? parseNdjson(text, fileName) : parseJsonDocument(text, fileName);
  if (records.length === 0) throw new InputError(`${fileName} has no records: nothing to load`);
  return records;
}

function parseNdjson(text: string, fileName: string): InputRecord[] {
  const records: InputRecord[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${i + 1}`;
    let resource: unknown;
    try {
      resource = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: not JSON (${(err as Error).message})`);
      return;
    }
    const problem = notAPatient(resource);
    if (problem) problems.push(`${where}: ${problem}`);
    else records.push({ patient: resource as Patient, where });
  });
  refuse(problems, fileName);
  return records;
}

function parseJsonDocument(text: string, fileName: string): InputRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const hint = text.trimStart().startsWith('{') && text.trim().includes('\n{') ? ` (one resource per line? name the file .ndjson)` : '';
    throw new InputError(`${fileName} is not JSON: ${(err as Error).message}${hint}`);
  }
  const type = (doc as { resourceType?: unknown } | null)?.resourceType;
  if (type === 'Patient') return [{ patient: doc as Patient, where: 'the Patient' }];
  if (type !== 'Bundle') {
    throw new InputError(`${fileName} is ${typeof type === 'string' && type ? withArticle(type) : 'not a FHIR resource'}: expected a Bundle of Patients (or NDJSON, one Patient per line, named .ndjson)`);
  }
  const bundle = doc as Bundle;
  const entries: unknown[] = Array.isArray(bundle.entry) ? bundle.entry : [];
  const records: InputRecord[] = [];
  const problems: string[] = [];
  entries.forEach((raw, i) => {
    const where = `entry[${i}]`;
    const entry = (raw ?? {}) as BundleEntry;
    const problem = notAPatient(entry.resource) ?? (bundle.type === 'transaction' || bundle.type === 'batch' ? notAPost(entry) : undefined);
    if (problem) problems.push(`${where}: ${problem}`);
    else records.push({ patient: entry.resource as Patient, where, ...(typeof entry.fullUrl === 'string' ? { fullUrl: entry.fullUrl } : {}) });
  });
  refuse(problems, fileName);
  return records;
}

function notAPatient(resource: unknown): string | undefined {
  if (resource === undefined) return 'no resource';
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return 'not a FHIR resource (expected a JSON object)';
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (type === 'Patient') return undefined;
  if (type === undefined) return 'no resourceType (expected a Patient)';
  // A resourceType that is not a string is named by its JSON, not as "[object Object]".
  return `${typeof type === 'string' ? withArticle(type) : `resourceType ${JSON.stringify(type)}`}, not a Patient`;
}

/** A transaction entry that is not a create: loading it as one would change what the file says. */
function notAPost(entry: BundleEntry): string | undefined {
  const method = entry.request?.method;
  if (method === undefined || (method === 'POST' && /^Patient\/?$/.test(entry.request?.url ?? ''))) return undefined;
  return `a ${method} ${entry.request?.url ?? ''}; only POST Patient entries are loaded`;
}

function withArticle(type: string): string {
  return `${/^[AEIOU]/.test(type) ? 'an' : 'a'} ${type}`;
}

function refuse(problems: readonly string[], fileName: string): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => `  ${p}`);
  if (problems.length > MAX_PROBLEMS) shown.push(`  …and ${problems.length - MAX_PROBLEMS} more`);
  throw new InputError(`${fileName}: ${problems.length} record(s) cannot be loaded; nothing was sent:\n${shown.join('\n')}`);
}
