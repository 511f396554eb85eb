/**
 * "Who looked at my record, and when" (PC-L5): the person reads the accesses to their
 * shared record from the audit trail.
 *
 *   GET /fhir/Patient/$accesses      a patient token: their own record only
 *
 * Answers Parameters, newest first: one `access` per successful exchange about the
 * person by an agency — `when`, `agency`, `practitioner` (when one acted), `what`
 * (the interaction) and `service` — at most `LISTED`, from the audit service's index of
 * the whole log (services/audit/view.ts `AuditView.accessesTo`: every exchange about the
 * index Person or any of their agency records, however old), so nothing is missed
 * because it is far back in the log. Their own reads and refusals are left out, and so
 * are the separate consent decision records (AuthZconsent / PrivacyDisclosure) that the
 * hub wrote beside an exchange until 2026-12-06 (each exchange's own record carries its
 * decisions now): each access is listed once.
 */
import type { Request, Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { forbidden, notFound } from '../../../shared/fhir/outcome.js';
import { MAX_COUNT } from '../../../shared/store/search-plan.js';
import type { PersonAccess } from '../../audit/view.js';
import { personOfPatientReference } from '../consent-facts.js';
import type { PlansContext } from '../context.js';

/** At most this many accesses are listed. */
const LISTED = 100;
/** The decision records written beside an exchange until 2026-12-06 (the same access, recorded again). */
const DECISION_SUBTYPES = new Set(['AuthZ-Consent', 'PrivacyDisclosure', 'disclose']);

/** Whether an exchange about the person is one to show them: an agency's successful access, not theirs, not a decision record. */
export function shownToPerson(access: PersonAccess): boolean {
  return access.outcome === '0' && access.agency !== undefined && access.patient === undefined && !DECISION_SUBTYPES.has(access.subtype);
}

export function personAccesses(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$accesses', action: 'R' });
    const auth = authContext(res);
    if (!auth.patient) throw forbidden('$accesses lists who read a person\'s record, for that person: sign in as the person (a patient token)');
    const personId = await personOfPatientReference(ctx, auth.patient);
    if (!personId) throw notFound(`${auth.patient} is not a person the partnership's index knows`);
    const subject = `Person/${personId}`;
    describeExchange(res, { subject, entities: [{ reference: subject, role: 'subject' }] });
    const shown: PersonAccess[] = [];
    // Newest first, a page at a time, until enough are listed or the person's log is read to its start.
    for (let offset = 0; shown.length < LISTED; offset += MAX_COUNT) {
      const { total, accesses } = await ctx.auditLog.accessesTo(personId, { limit: MAX_COUNT, offset });
      shown.push(...accesses.filter(shownToPerson));
      if (offset + accesses.length >= total || accesses.length === 0) break;
    }
    const parameter: ParametersParameter[] = shown.slice(0, LISTED).map((a) => ({
      name: 'access',
      part: [
        { name: 'when', valueInstant: a.recorded },
        { name: 'agency', valueReference: { reference: `Organization/${a.agency!}` } },
        ...(a.practitionerRole ? [{ name: 'practitioner', valueReference: { reference: a.practitionerRole } }] : []),
        { name: 'what', valueString: a.subtype },
        { name: 'service', valueString: a.service },
      ],
    }));
    const body: Parameters = { resourceType: 'Parameters', parameter };
    // PC-L5: the person reads current information about their care — here, who looked at it.
    await respond(req, res, 200, body, { criteria: ['PC-L5'] });
  };
}
