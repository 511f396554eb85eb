/**
 * "Who looked at my record, and when" (PC-L5): the person reads the accesses to their
 * shared record from the audit trail.
 *
 *   GET /fhir/Patient/$accesses      a patient token: their own record only
 *
 * Answers Parameters, newest first: one `access` per successful exchange about the
 * person by an agency — `when`, `agency`, `practitioner` (when one acted), `what`
 * (the interaction) and `service` — from the most recent `SCAN_LIMIT` records of the
 * audit stream (the audit service's search by patient replaces this scan when its view
 * is on main). Their own reads are left out.
 */
import type { Request, Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { auditStreamKey } from '../../../shared/audit/audit-client.js';
import { parseAuditEntry } from '../../../shared/audit/audit-entry.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { forbidden, notFound } from '../../../shared/fhir/outcome.js';
import { personOfPatientReference } from '../consent-facts.js';
import type { PlansContext } from '../context.js';

/** How far back in the audit stream the scan reaches (newest first). */
const SCAN_LIMIT = 20_000;
/** At most this many accesses are listed. */
const LISTED = 100;

export function personAccesses(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$accesses', action: 'R' });
    const auth = authContext(res);
    if (!auth.patient) throw forbidden('$accesses lists who read a person\'s record, for that person: sign in as the person (a patient token)');
    const personId = await personOfPatientReference(ctx, auth.patient);
    if (!personId) throw notFound(`${auth.patient} is not a person the partnership's index knows`);
    const subject = `Person/${personId}`;
    describeExchange(res, { subject, entities: [{ reference: subject, role: 'subject' }] });
    const rows = await ctx.redis.xrevrange(auditStreamKey(ctx.keys), '+', '-', 'COUNT', SCAN_LIMIT);
    const parameter: ParametersParameter[] = [];
    for (const [, flat] of rows) {
      if (parameter.length >= LISTED) break;
      const entry = parseAuditEntry(flat);
      if (entry.subject !== subject || entry.outcome !== '0' || !entry.agency) continue;
      const event = JSON.parse(entry.event) as { subtype?: { code?: string }[]; agent?: { who?: { reference?: string } }[] };
      const people = (event.agent ?? []).map((a) => a.who?.reference ?? '');
      if (people.includes(auth.patient)) continue;
      const practitioner = people.find((r) => r.startsWith('PractitionerRole/'));
      parameter.push({
        name: 'access',
        part: [
          { name: 'when', valueInstant: entry.recorded },
          { name: 'agency', valueReference: { reference: `Organization/${entry.agency}` } },
          ...(practitioner ? [{ name: 'practitioner', valueReference: { reference: practitioner } }] : []),
          { name: 'what', valueString: (event.subtype ?? []).map((s) => s.code).filter(Boolean).join(' ') },
          { name: 'service', valueString: entry.service },
        ],
      });
    }
    const body: Parameters = { resourceType: 'Parameters', parameter };
    // PC-L5: the person reads current information about their care — here, who looked at it.
    await respond(req, res, 200, body, { criteria: ['PC-L5'] });
  };
}
