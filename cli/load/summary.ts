/**
 * What a load did, counted from the MPI's `transaction-response` Bundles: each
 * entry's status (201 created, 200 a re-submission of a record already held)
 * and its outcome text (services/mpi/transaction-response.ts says
 * "Linked to Person/… (level3)", "Queued for review as Task/…", "New person: Person/…",
 * each prefixed "Unchanged (…): " for a record sent again exactly as stored).
 */
import type { Bundle, OperationOutcome } from 'fhir/r4.js';

export interface LoadTally {
  readonly records: number;
  readonly created: number;
  /** A record the MPI already held under the same agency identifier, changed: a new version, re-matched. */
  readonly updated: number;
  /**
   * A record sent again exactly as stored: nothing written or re-matched, it keeps its Person
   * (so it counts in none of linked / review / new: nothing was decided for it now).
   */
  readonly unchanged: number;
  readonly linked: number;
  /** Of `linked`: by the same valid CHI (assurance level4). */
  readonly linkedByChi: number;
  readonly queuedForReview: number;
  readonly newPersons: number;
  /** Linked records that also raised a possible-duplicate review (they may bridge a person indexed twice). */
  readonly possibleDuplicates: number;
  /** Outcomes this client does not recognise (a newer MPI): counted, not guessed at. */
  readonly otherOutcomes: number;
  /**
   * Results the MPI had already: posting a Bundle identical to an earlier one returns the
   * earlier job (kept for a day) — nothing is registered again.
   */
  readonly fromEarlierLoad: number;
}

export const EMPTY_TALLY: LoadTally = {
  records: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  linked: 0,
  linkedByChi: 0,
  queuedForReview: 0,
  newPersons: 0,
  possibleDuplicates: 0,
  otherOutcomes: 0,
  fromEarlierLoad: 0,
};

/** How the MPI's outcome text begins for a record sent again exactly as stored. */
const UNCHANGED = 'Unchanged';

/**
 * Counts one transaction-response. `fromEarlierLoad`: the MPI said the Bundle was
 * already accepted (202 with issue code `duplicate`), so every result is that earlier load's.
 */
export function tallyResponse(bundle: Bundle, fromEarlierLoad = false): LoadTally {
  const t = { ...EMPTY_TALLY };
  for (const entry of bundle.entry ?? []) {
    const response = entry.response;
    t.records++;
    const text = (response?.outcome as OperationOutcome | undefined)?.issue?.[0]?.details?.text ?? '';
    if (fromEarlierLoad) t.fromEarlierLoad++;
    if (text.startsWith(UNCHANGED)) {
      t.unchanged++;
      continue;
    }
    if (response?.status?.startsWith('201')) t.created++;
    else if (response?.status?.startsWith('200')) t.updated++;
    if (text.startsWith('Linked to ')) {
      t.linked++;
      if (/\(level4\)/.test(text)) t.linkedByChi++;
      if (text.includes('may bridge a person indexed twice')) t.possibleDuplicates++;
    } else if (text.startsWith('Queued for review')) t.queuedForReview++;
    else if (text.startsWith('New person')) t.newPersons++;
    else t.otherOutcomes++;
  }
  return t;
}

export function addTallies(a: LoadTally, b: LoadTally): LoadTally {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof LoadTally)[]) sum[key] = a[key] + b[key];
  return sum;
}

/** The summary of a finished load, as `--json` prints it. */
export interface LoadSummary extends LoadTally {
  readonly file: string;
  readonly agency: string;
  readonly bundles: number;
  readonly elapsedSeconds: number;
  /** Records registered by this run per second. */
  readonly recordsPerSecond: number;
}

export function loadSummary(tally: LoadTally, about: { file: string; agency: string; bundles: number; elapsedMs: number }): LoadSummary {
  const elapsedSeconds = Math.round(about.elapsedMs / 100) / 10;
  return {
    file: about.file,
    agency: about.agency,
    bundles: about.bundles,
    ...tally,
    elapsedSeconds,
    // Results the MPI already had took no registering: they would flatter the rate.
    recordsPerSecond: ratePerSecond(tally.records - tally.fromEarlierLoad, about.elapsedMs),
  };
}

export function ratePerSecond(records: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((records * 1000) / elapsedMs) : 0;
}

export function formatSummary(s: LoadSummary): string {
  const lines = [
    `Loaded ${s.records} record(s) from ${s.file} as ${s.agency}, in ${s.bundles} Bundle(s): ${s.elapsedSeconds} s, ${s.recordsPerSecond} records/s`,
    `  created               ${s.created}`,
    `  updated               ${s.updated} (re-submissions of records the MPI already held: new versions, re-matched)`,
    ...(s.unchanged ? [`  unchanged             ${s.unchanged} (sent again exactly as stored: nothing written or re-matched; each keeps its Person)`] : []),
    `  linked                ${s.linked} (${s.linkedByChi} by CHI)${s.possibleDuplicates ? `; ${s.possibleDuplicates} raised possible-duplicate reviews` : ''}`,
    `  queued for review     ${s.queuedForReview}`,
    `  new persons           ${s.newPersons}`,
  ];
  if (s.otherOutcomes) lines.push(`  other outcomes        ${s.otherOutcomes} (not recognised by this client; see the MPI's transaction-response)`);
  if (s.fromEarlierLoad) {
    lines.push(
      `  Note: ${s.fromEarlierLoad} of these results are from an earlier identical load: the MPI answers a Bundle posted again`,
      `  within a day with the earlier job's result, and registered nothing again.`,
    );
  }
  lines.push('Review the outcomes with `infoshare matching report` (review queue, linked / review / new counts).');
  return lines.join('\n');
}
