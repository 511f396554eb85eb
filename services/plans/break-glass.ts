/**
 * Break-glass, afterwards: the person's Named Person / Lead Professional learns who
 * read their person's record, when and why — through the alerts service's own
 * delivery, not a second delivery path. The read is notified as a structured alert
 * of category `break-glass-access` (purpose `emergency-care`) raised by the agency
 * that broke the glass, addressed (`MessageHeader.destination`) to the NP/LP's
 * agencies: the alerts service accepts it like any alert (durably, NP/LP details
 * filled in from the directory), checks the ISP, delivers it to each agency's
 * system with retries and dead letters, and its `$delivery-status` follows it —
 * exactly as its own look-up notifications (`alert-accessed`) travel.
 *
 * The call is made with the clinician's own access token (it is their agency raising
 * the notice, so the alert's sender is the agency that looked), audited as an
 * outbound `transmit`. An NP/LP agency the ISP does not let unscheduled care alert
 * for emergency care is left out (the refusal of a destination would refuse the
 * whole message); the break-glass read itself is in the audit trail either way.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import type { AuditSink, ExchangeAgent } from '../../shared/audit/exchange.js';
import { auditedCall } from '../../shared/audit/outbound.js';
import { FHIR_JSON } from '../../shared/fhir/express.js';
import { CodeSystems, IdentifierSystems } from '../../shared/fhir/systems.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { Logger } from '../../shared/log.js';
import { npLpAgenciesOf, type ConsentFactsSources } from './consent-facts.js';

/** The alert category a break-glass notice travels as (services/alerts/domain/categories.ts). */
export const BREAK_GLASS_ALERT_CATEGORY = 'break-glass-access';

export interface BreakGlassNotifierDeps extends ConsentFactsSources {
  readonly isp: IspRegistry;
  readonly audit: AuditSink;
  /** The alerts service's base URL as services reach it (`config.internalUrls.alerts`). */
  readonly alertsUrl: string;
  readonly log: Logger;
  readonly fetch?: typeof fetch;
}

export interface BreakGlassRead {
  readonly requestId: string;
  readonly agent: ExchangeAgent;
  readonly agencyId: string;
  /** The caller's bearer token (the notice is raised as their agency). */
  readonly bearer: string;
  readonly personId: string;
  readonly reason: string;
  /** What was read (`CarePlan/…`). */
  readonly read: readonly string[];
  readonly at: Date;
}

export interface BreakGlassNotice {
  readonly messageId?: string;
  readonly recipients: readonly string[];
  /** Why no notice went, when none did. */
  readonly withheld?: string;
}

/** Sends the notice; never throws (the read has happened and is audited: a failed notice is logged and audited). */
export async function notifyBreakGlass(deps: BreakGlassNotifierDeps, read: BreakGlassRead): Promise<BreakGlassNotice> {
  try {
    const agencies = (await npLpAgenciesOf(deps, read.personId, read.at)).filter((a) => a !== read.agencyId);
    const decisions = await Promise.all(
      agencies.map((agency) => deps.isp.checkFlow({ senderAgencyId: read.agencyId, receiverAgencyId: agency, category: 'alert', purpose: 'emergency-care' }, read.at)),
    );
    const recipients = agencies.filter((_, i) => decisions[i]?.allowed);
    if (recipients.length === 0) return { recipients, withheld: 'no NP/LP agency the ISP lets this agency alert for emergency care' };
    const chi = (await deps.mpi.recordsOf(read.personId)).records.flatMap((r) => r.identifiers).find((i) => i.system === IdentifierSystems.chi)?.value;
    if (!chi) return { recipients: [], withheld: 'the person has no CHI in the index to name them by' };
    const messageId = `btg-${read.requestId}`.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 64);
    const bundle = noticeMessage({ ...read, messageId, recipients, chi });
    const url = `${deps.alertsUrl}/fhir/$process-message`;
    const doFetch = deps.fetch ?? fetch;
    const answered = await auditedCall(
      deps.audit,
      {
        requestId: read.requestId,
        service: 'plans',
        agent: read.agent,
        subtype: '$process-message',
        method: 'POST',
        url,
        subject: `Person/${read.personId}`,
        dataCategory: 'alert',
        purpose: 'emergency-care',
        entities: [{ reference: `MessageHeader/${messageId}`, role: 'data', description: `break-glass notice to ${recipients.join(', ')}` }],
      },
      async () => {
        const response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON, authorization: `Bearer ${read.bearer}` },
          body: JSON.stringify(bundle),
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        return { status: response.status, value: undefined };
      },
    );
    if (answered.status >= 300) {
      deps.log.warn({ requestId: read.requestId, status: answered.status }, 'the alerts service refused a break-glass notice');
      return { recipients: [], withheld: `the alerts service answered ${answered.status}` };
    }
    return { messageId, recipients };
  } catch (err) {
    deps.log.warn({ err, requestId: read.requestId }, 'could not send the break-glass notice');
    return { recipients: [], withheld: 'the alerts service could not be reached' };
  }
}

/** The notice as an alerts message: who read what, when and why. Pure. */
export function noticeMessage(n: BreakGlassRead & { readonly messageId: string; readonly recipients: readonly string[]; readonly chi: string }): Bundle {
  const when = n.at.toISOString();
  const who = n.agent.practitionerRole ?? `Organization/${n.agencyId}`;
  const text = `${who} (${n.agencyId}) read this person's shared record under break-glass at ${when}: "${n.reason}" (${n.read.join(', ') || 'their record'})`;
  const entry = (resource: FhirResource): BundleEntry => ({ fullUrl: `urn:uuid:${n.messageId}-${resource.resourceType.toLowerCase()}`, resource });
  return {
    resourceType: 'Bundle',
    type: 'message',
    timestamp: when,
    entry: [
      entry({
        resourceType: 'MessageHeader',
        id: n.messageId,
        eventCoding: { system: CodeSystems.alertEvent, code: 'alert-raised' },
        source: { endpoint: `Organization/${n.agencyId}` },
        sender: { reference: `Organization/${n.agencyId}` },
        destination: n.recipients.map((agency) => ({ endpoint: `Organization/${agency}`, receiver: { reference: `Organization/${agency}` } })),
        focus: [{ reference: `Flag/${n.messageId}` }],
      }),
      entry({
        resourceType: 'Flag',
        id: n.messageId,
        status: 'active',
        category: [{ coding: [{ system: CodeSystems.alertCategory, code: BREAK_GLASS_ALERT_CATEGORY }] }],
        code: { coding: [{ system: CodeSystems.actReason, code: 'BTG', display: 'break the glass' }], text },
        period: { start: when },
        subject: { reference: `Patient/${n.messageId}-subject` },
      }),
      entry({ resourceType: 'Patient', id: `${n.messageId}-subject`, identifier: [{ system: IdentifierSystems.chi, value: n.chi }] }),
      entry({
        resourceType: 'Provenance',
        id: `${n.messageId}-access`,
        target: [{ reference: `Flag/${n.messageId}` }],
        recorded: when,
        activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'ACCESS', display: 'access' }] },
        reason: [{ coding: [{ system: CodeSystems.actReason, code: 'BTG' }], text: n.reason }],
        agent: [{ who: { reference: who }, onBehalfOf: { reference: `Organization/${n.agencyId}` } }],
      }),
    ],
  };
}
