/** The `transaction-response` Bundle of a registration load (answered at once, or read back from a background load's status URL). */
import type { Bundle } from 'fhir/r4.js';
import { etagOf } from '../../shared/fhir/bundle.js';
import { informational } from '../../shared/fhir/outcome.js';
import type { RegistrationResult } from './registration.js';

/** With `minimal` (`Prefer: return=minimal`), each entry has status, location and outcome but not the record. */
export function transactionResponse(results: readonly RegistrationResult[], baseUrl: string, minimal: boolean): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: results.map((r) => ({
      fullUrl: `${baseUrl}/Patient/${r.recordId}`,
      ...(minimal ? {} : { resource: r.response() }),
      response: {
        status: r.status === 201 ? '201 Created' : '200 OK',
        location: `Patient/${r.recordId}/_history/${r.stored.meta?.versionId}`,
        etag: etagOf(r.stored),
        lastModified: r.stored.meta?.lastUpdated,
        outcome: informational(
          (r.unchanged ? 'Unchanged (sent again as stored; nothing re-matched or written): ' : '') +
          (r.plan.outcome === 'linked'
            ? `Linked to Person/${r.plan.personId} (${r.plan.assurance})${
                r.reviewTaskIds.length ? `; may bridge a person indexed twice: review ${r.reviewTaskIds.map((t) => `Task/${t}`).join(', ')}` : ''
              }`
            : r.plan.outcome === 'review'
              ? `Queued for review${r.reviewTaskIds[0] ? ` as Task/${r.reviewTaskIds[0]}` : ''}; indexed as Person/${r.plan.personId} meanwhile`
              : `New person: Person/${r.plan.personId}`),
        ),
      },
    })),
  };
}
