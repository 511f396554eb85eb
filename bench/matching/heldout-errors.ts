/**
 * Why the MPI got a labelled multi-agency set wrong (the held-out proxy, the blind set): false
 * links, missed links and review Tasks grouped by cause. A cause is what differs between the two
 * records (fields compared after folding case, spaces and punctuation), whether the CHI is on
 * both, one or neither, and the error processes the generator applied to them (`noise`) or, for
 * two people, how they are related (twins, one household, same-name strangers).
 */

/** What the analysis reads of an agency record, as the generators label them. */
export interface AnalysedRecord {
  readonly agencyId: string;
  readonly agencyType: string;
  readonly localId: string;
  readonly personId: string;
  readonly names: readonly { readonly given: readonly string[]; readonly family?: string | undefined }[];
  readonly birthDate?: string | undefined;
  readonly gender?: string | undefined;
  readonly postcode?: string | undefined;
  readonly chi?: string | undefined;
  readonly noise: readonly string[];
}

/** What the analysis reads of a true person. */
export interface AnalysedPerson {
  readonly id: string;
  readonly household: string;
  readonly birthDate: string;
  readonly given: string;
  readonly family: string;
}

export interface AnalysedSet {
  readonly records: readonly AnalysedRecord[];
  readonly people: readonly AnalysedPerson[];
}


export interface ReviewQuestion {
  readonly task: string;
  readonly recordId: string;
  readonly candidateId: string;
  readonly probability?: number;
  readonly evidence: readonly string[];
}

export interface CauseGroup {
  readonly cause: string;
  readonly pairs: number;
  /** Up to three pairs, each as two one-line record summaries. */
  readonly examples: readonly (readonly [string, string])[];
}

export interface ErrorAnalysis {
  readonly falseLinks: { readonly pairs: number; readonly byRelation: readonly CauseGroup[]; readonly byFields: readonly CauseGroup[] };
  readonly missedLinks: { readonly pairs: number; readonly byFields: readonly CauseGroup[]; readonly byNoise: readonly CauseGroup[]; readonly strayRecords: readonly CauseGroup[] };
  readonly reviews: { readonly trueMatches: readonly CauseGroup[]; readonly differentPeople: readonly CauseGroup[] };
}

const TOP = 15;

export function analyseErrors(dataset: AnalysedSet, personOf: ReadonlyMap<string, string>, reviews: readonly ReviewQuestion[]): ErrorAnalysis {
  const byId = new Map<string, AnalysedRecord>(dataset.records.map((r) => [`${r.agencyId}.${r.localId}`, r]));
  const people = new Map(dataset.people.map((p) => [p.id, p] as const));
  const cluster = (r: AnalysedRecord) => personOf.get(`${r.agencyId}.${r.localId}`)!;

  // False links: records of two people in one Person.
  const falseByRelation = new Groups();
  const falseByFields = new Groups();
  const byCluster = groupBy(dataset.records, cluster);
  for (const members of byCluster.values()) {
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const a = members[i]!;
        const b = members[j]!;
        if (a.personId === b.personId) continue;
        falseByRelation.add(relation(people.get(a.personId)!, people.get(b.personId)!), a, b);
        falseByFields.add(fieldCause(a, b), a, b);
      }
    }
  }

  // Missed links: records of one person in different Persons.
  const missedByFields = new Groups();
  const missedByNoise = new Groups();
  const strays = new Groups();
  for (const records of groupBy(dataset.records, (r) => r.personId).values()) {
    for (let i = 0; i < records.length; i++) {
      for (let j = i + 1; j < records.length; j++) {
        const a = records[i]!;
        const b = records[j]!;
        if (cluster(a) === cluster(b)) continue;
        missedByFields.add(fieldCause(a, b), a, b);
        missedByNoise.add(noiseCause(a, b), a, b);
      }
    }
    // Each record outside the person's largest Person, against its closest record inside it.
    const parts = [...groupBy(records, cluster).values()].sort((x, y) => y.length - x.length);
    const main = parts[0]!;
    for (const part of parts.slice(1)) {
      for (const stray of part) {
        const closest = [...main].sort((x, y) => differences(stray, x).length - differences(stray, y).length)[0]!;
        strays.add(`${fieldCause(stray, closest)} | ${stray.agencyType} record: ${stray.noise.filter(informative).join(', ') || 'no injected error'}`, stray, closest);
      }
    }
  }

  // Review Tasks: the true ones by what differs, the others by how the two people are related.
  const reviewTrue = new Groups();
  const reviewFalse = new Groups();
  for (const q of reviews) {
    const a = byId.get(q.recordId);
    const b = byId.get(q.candidateId);
    if (!a || !b) {
      reviewFalse.add('task not naming two known records', undefined, undefined);
      continue;
    }
    if (a.personId === b.personId) reviewTrue.add(`${fieldCause(a, b)} | ${noiseCause(a, b)}`, a, b);
    else reviewFalse.add(`${relation(people.get(a.personId)!, people.get(b.personId)!)} | ${fieldCause(a, b)}`, a, b);
  }

  return {
    falseLinks: { pairs: falseByFields.total, byRelation: falseByRelation.top(), byFields: falseByFields.top() },
    missedLinks: { pairs: missedByFields.total, byFields: missedByFields.top(), byNoise: missedByNoise.top(), strayRecords: strays.top() },
    reviews: { trueMatches: reviewTrue.top(), differentPeople: reviewFalse.top() },
  };
}

class Groups {
  private readonly groups = new Map<string, { pairs: number; examples: [string, string][] }>();
  total = 0;

  add(cause: string, a: AnalysedRecord | undefined, b: AnalysedRecord | undefined): void {
    this.total++;
    const g = this.groups.get(cause) ?? { pairs: 0, examples: [] };
    g.pairs++;
    if (a && b && g.examples.length < 3) g.examples.push([summary(a), summary(b)]);
    this.groups.set(cause, g);
  }

  top(n = TOP): CauseGroup[] {
    return [...this.groups.entries()]
      .sort((x, y) => y[1].pairs - x[1].pairs || x[0].localeCompare(y[0]))
      .slice(0, n)
      .map(([cause, g]) => ({ cause, pairs: g.pairs, examples: g.examples }));
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** How two different people are related, as far as the generator knows. */
function relation(a: AnalysedPerson, b: AnalysedPerson): string {
  if (a.household === b.household) {
    if (a.birthDate === b.birthDate) return 'twins';
    if (a.given === b.given) return 'same household, same forename (father and son)';
    return 'same household';
  }
  if (a.given === b.given && a.family === b.family) return a.birthDate === b.birthDate ? 'same-name strangers, same birth date' : 'same-name strangers';
  return 'unrelated';
}

const fold = (s: string | undefined): string => (s ?? '').normalize('NFD').replace(/[^A-Za-z0-9]/g, '').toLowerCase();
const mainName = (r: AnalysedRecord) => r.names[0]!;

/** The fields on which two records differ (both present and different), and those missing on a side. */
function differences(a: AnalysedRecord, b: AnalysedRecord): string[] {
  const out: string[] = [];
  const compare = (field: string, x: string | undefined, y: string | undefined) => {
    if (!x || !y) out.push(`${field}?`);
    else if (fold(x) !== fold(y)) out.push(field);
  };
  compare('forename', mainName(a).given[0], mainName(b).given[0]);
  compare('surname', mainName(a).family, mainName(b).family);
  compare('birthDate', a.birthDate, b.birthDate);
  compare('sex', a.gender === 'unknown' ? undefined : a.gender, b.gender === 'unknown' ? undefined : b.gender);
  compare('postcode', a.postcode, b.postcode);
  return out;
}

function fieldCause(a: AnalysedRecord, b: AnalysedRecord): string {
  const chi = a.chi && b.chi ? (a.chi === b.chi ? 'same CHI' : 'different CHIs') : a.chi || b.chi ? 'CHI on one side' : 'no CHI';
  const diff = differences(a, b);
  const differ = diff.filter((d) => !d.endsWith('?'));
  const missing = diff.filter((d) => d.endsWith('?')).map((d) => d.slice(0, -1));
  return `${chi}; ${differ.length ? `differ: ${differ.join(' + ')}` : 'all present fields agree'}${missing.length ? `; missing: ${missing.join(' + ')}` : ''}`;
}

/** Error processes that say something about a pair ('capitals' and duplicates do not by themselves). */
const informative = (n: string) => n !== 'capitals';

function noiseCause(a: AnalysedRecord, b: AnalysedRecord): string {
  const labels = [...new Set([...a.noise, ...b.noise].filter(informative))].sort();
  return labels.length ? labels.join(' + ') : 'no injected error on either record';
}

function summary(r: AnalysedRecord): string {
  const n = mainName(r);
  return [
    `${r.agencyId}.${r.localId} (${r.personId})`,
    `${n.given.join(' ')} ${n.family ?? ''}`.trim(),
    r.birthDate ?? '-',
    r.gender ?? '-',
    r.postcode ?? '-',
    r.chi ? `CHI ${r.chi}` : 'no CHI',
    r.noise.length ? `[${r.noise.join(', ')}]` : '',
  ]
    .filter(Boolean)
    .join(' | ');
}
