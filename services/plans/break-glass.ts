/**
 * Break-glass, afterwards: the person's Named Person / Lead Professional learns who
 * read their person's record, when and why — through the alerts service's own
 * delivery, not a second delivery path. The read is notified as a structured alert
 * of category `break-glass-access` (purpose `emergency-care`) raised for the agency
 * that broke the glass, addressed (`MessageHeader.destination`) to the NP/LP's
 * agencies: the alerts service accepts it like any alert (durably, NP/LP details
 * filled in from the directory), checks the ISP, delivers it to each agency's
 * system with retries and dead letters, and its `$delivery-status` follows it —
 * exactly as its own look-up notifications (`alert-accessed`) travel.
 *
 * The notice is written with the read's own audit record (break-glass-notices.ts) and
 * sent by a worker (workers/break-glass-notices.ts), retried until the alerts service
 * takes it. It is raised with the hub's own credentials — an access token the hub signs
 * (`sub` `hub:plans`) for the agency that broke the glass and its practitioner — never
 * the clinician's token (it expires, it may lack `system/Flag.write`, and a job holds
 * no secrets). The message id is the notice id, so a re-sent notice is the same message
 * to the alerts service. An NP/LP agency the ISP does not let unscheduled care alert
 * for emergency care is left out (the refusal of a destination would refuse the whole
 * message); with none left, or no CHI to name the person by, the notice is withheld —
 * settled and audited as such.
 */
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import type { AuditSink } from '../../shared/audit/exchange.js';
import { outboundCallRecord } from '../../shared/audit/outbound.js';
import { failureReason } from '../../shared/audit/exchange.js';
import { FHIR_JSON } from '../../shared/fhir/express.js';
import { CodeSystems, IdentifierSystems } from '../../shared/fhir/systems.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { BreakGlassNoticeRecord } from './break-glass-notices.js';
import { npLpAgenciesOf, type ConsentFactsSources } from './consent-facts.js';

/** The alert category a break-glass notice travels as (services/alerts/domain/categories.ts). */
export const BREAK_GLASS_ALERT_CATEGORY = 'break-glass-access';

/** How long one attempt waits for the alerts service. */
const SEND_TIMEOUT_MS = 10_000;

export interface BreakGlassNotifierDeps extends ConsentFactsSources {
  readonly isp: IspRegistry;
  readonly audit: AuditSink;
  /** The alerts service's base URL as services reach it (`config.internalUrls.alerts`). */
  readonly alertsUrl: string;
  /** The hub's own access token for raising a notice for `agencyId` (and its practitioner, when one acted). */
  readonly serviceToken: (agencyId: string, practitionerRole: string | undefined) => Promise<string>;
  readonly fetch?: typeof fetch;
}

export type BreakGlassNotice = { readonly messageId: string; readonly recipients: readonly string[]; readonly withheld?: undefined } | { readonly withheld: string };

/**
 * Sends one notice to the alerts service (its call audited as an outbound transmit). Throws when it should be tried
 * again (no answer, a 5xx); answers `withheld` when no one may receive it or the alerts service refuses it (4xx).
 */
export async function sendBreakGlassNotice(deps: BreakGlassNotifierDeps, notice: BreakGlassNoticeRecord): Promise<BreakGlassNotice> {
  const at = new Date(notice.at);
  const agencies = (await npLpAgenciesOf(deps, notice.personId, at)).filter((a) => a !== notice.agencyId);
  const decisions = await Promise.all(
    agencies.map((agency) => deps.isp.checkFlow({ senderAgencyId: notice.agencyId, receiverAgencyId: agency, category: 'alert', purpose: 'emergency-care' })),
  );
  const recipients = agencies.filter((_, i) => decisions[i]?.allowed);
  if (recipients.length === 0) return { withheld: 'no NP/LP agency the ISP lets this agency alert for emergency care' };
  const chi = (await deps.mpi.recordsOf(notice.personId)).records.flatMap((r) => r.identifiers).find((i) => i.system === IdentifierSystems.chi)?.value;
  if (!chi) return { withheld: 'the person has no CHI in the index to name them by' };
  const messageId = notice.id;
  const bundle = noticeMessage({ ...notice, at, messageId, recipients, chi });
  const url = `${deps.alertsUrl}/fhir/$process-message`;
  const call = {
    requestId: notice.requestId,
    service: 'plans' as const,
    agent: notice.agent,
    subtype: '$process-message',
    method: 'POST',
    url,
    subject: `Person/${notice.personId}`,
    dataCategory: 'alert',
    purpose: 'emergency-care',
    entities: [{ reference: `MessageHeader/${messageId}`, role: 'data' as const, description: `break-glass notice to ${recipients.join(', ')}` }],
  };
  const token = await deps.serviceToken(notice.agencyId, notice.agent.practitionerRole);
  const sentAt = new Date();
  let status: number;
  try {
    const response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON, authorization: `Bearer ${token}` },
      body: JSON.stringify(bundle),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    status = response.status;
  } catch (err) {
    await deps.audit.record(outboundCallRecord(call, { failure: failureReason(err), sentAt }));
    throw new Error(`the alerts service could not be reached: ${failureReason(err)}`, { cause: err });
  }
  await deps.audit.record(outboundCallRecord(call, { status, sentAt }));
  if (status >= 500) throw new Error(`the alerts service answered ${status}`);
  if (status >= 300) return { withheld: `the alerts service refused it (${status})` };
  return { messageId, recipients };
}

/** The notice as an alerts message: who read what, when and why. Pure. */
export function noticeMessage(n: Omit<BreakGlassNoticeRecord, 'at'> & { readonly at: Date; readonly messageId: string; readonly recipients: readonly string[]; readonly chi: string }): Bundle {
  const when = n.at.toISOString();
  const who = n.agent.practitionerRole ?? `Organization/${n.agencyId}`;
  const text = `${who} (${n.agencyId}) read this person's shared record under break-glass at ${when}: "${n.reason}" (${n.read.join(', ') || 'their record'})`;
  const entry = (resource: FhirResource): BundleEntry => ({ fullUrl: `urn:uuid:${n.messageId}-${resource.resourceType.toLowerCase()}`, resource });
  // The person and the provenance are named inside this message only: short ids, since the notice's own id may
  // take all 64 characters a FHIR id allows (a suffix made them 68-69: the alerts service refused it, 422).
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
        subject: { reference: 'Patient/subject' },
      }),
      entry({ resourceType: 'Patient', id: 'subject', identifier: [{ system: IdentifierSystems.chi, value: n.chi }] }),
      entry({
        resourceType: 'Provenance',
        id: 'access',
        target: [{ reference: `Flag/${n.messageId}` }],
        recorded: when,
        activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'ACCESS', display: 'access' }] },
        reason: [{ coding: [{ system: CodeSystems.actReason, code: 'BTG' }], text: n.reason }],
        agent: [{ who: { reference: who }, onBehalfOf: { reference: `Organization/${n.agencyId}` } }],
      }),
    ],
  };
}
