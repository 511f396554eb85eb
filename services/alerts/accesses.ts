/**
 * Access notifications (CP-IS): every look-up of an alert is recorded with the
 * alert — the last ACCESSES_KEPT are readable by its NP/LP's agency and the
 * sender (`$accesses`) — and sent, as a message of event `alert-accessed`, to
 * the agencies the Named Person / Lead Professional work for, so they learn the
 * person presented there. The record, the message and its deliveries are
 * accepted together by the same script as an alert (store.ts), then queued like
 * an alert's deliveries.
 *
 * The notice travels from the agency that looked the alert up to the NP/LP's
 * agency as the `alert` category for the alert's purpose, so the ISP decides it
 * like any flow: an NP/LP agency the ISP does not let the looking-up agency
 * share with is not sent one (the access is still recorded and readable).
 */
import type { Bundle, CareTeam, Flag, Patient, Provenance } from 'fhir/r4.js';
import type { ExchangeAgent } from '../../shared/audit/exchange.js';
import { changeRecord } from '../../shared/audit/outbox.js';
import type { Purpose } from '../../shared/fhir/systems.js';
import type { AlertsContext } from './context.js';
import { hubMessage, partsOf } from './domain/alert-bundle.js';
import { ACCESS_EVENT } from './domain/categories.js';
import { accessMessageIdOf } from './domain/ids.js';
import { ALERTS_TAG } from './keys.js';
import type { StoredFlag } from './store.js';

export interface Looker {
  readonly requestId: string;
  readonly agent: ExchangeAgent;
  readonly agencyId: string;
}

/** Records a look-up of `flag` by `looker` and queues the access notification; returns the agencies notified. */
export async function recordAccess(ctx: AlertsContext, flag: StoredFlag, looker: Looker, log: { warn: (o: object, m: string) => void }): Promise<string[]> {
  const at = new Date().toISOString();
  const messageId = accessMessageIdOf(flag.id, looker.requestId);
  const candidates = flag.npLpAgencies.filter((a) => a !== looker.agencyId);
  const decisions = await Promise.all(
    candidates.map((agency) => ctx.isp.checkFlow({ senderAgencyId: looker.agencyId, receiverAgencyId: agency, category: 'alert', purpose: flag.purpose as Purpose })),
  );
  const recipients = candidates.filter((_, i) => decisions[i]?.allowed);
  const raised = await ctx.store.message(flag.lastMessage);
  const patient = raised ? partsOf(raised.bundle as Bundle).patient : undefined;
  const provenance: Provenance = {
    resourceType: 'Provenance',
    id: `${messageId}-access`,
    target: [{ reference: `Flag/${flag.id}` }],
    recorded: at,
    activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'ACCESS', display: 'access' }] },
    agent: [
      {
        who: { reference: looker.agent.practitionerRole ?? `Organization/${looker.agencyId}` },
        onBehalfOf: { reference: `Organization/${looker.agencyId}` },
      },
    ],
  };
  const bundle = hubMessage({
    messageId,
    event: ACCESS_EVENT,
    senderAgency: looker.agencyId,
    baseUrl: ctx.baseUrl,
    timestamp: at,
    flag: flag.flag as Flag,
    patient: patient ?? ({ resourceType: 'Patient', id: flag.personId } satisfies Patient),
    ...(flag.careTeam ? { careTeam: flag.careTeam as CareTeam } : {}),
    provenance,
  });
  const origin = { requestId: looker.requestId, agent: looker.agent };
  const result = await ctx.store.accept({
    mode: 'access',
    message: {
      id: messageId,
      kind: 'access',
      event: ACCESS_EVENT,
      sender: looker.agencyId,
      flagId: flag.id,
      personId: flag.personId,
      alertCategory: flag.alertCategory,
      category: 'alert',
      purpose: flag.purpose,
      recipients,
      acceptedAt: at,
      origin,
      bundle,
      answer: null,
      npLpFromDirectory: false,
    },
    access: {
      at,
      agency: looker.agencyId,
      ...(looker.agent.practitionerRole ? { practitionerRole: looker.agent.practitionerRole } : {}),
      requestId: looker.requestId,
      messageId,
    },
    changeRecord: changeRecord(
      { requestId: looker.requestId, service: 'alerts', agent: looker.agent },
      {
        subtype: ACCESS_EVENT,
        action: 'C',
        subject: `Person/${flag.personId}`,
        dataCategory: 'alert',
        purpose: flag.purpose,
        entities: [{ reference: `Flag/${flag.id}`, role: 'domain-resource', description: `looked up by ${looker.agencyId}; notice ${messageId} to ${recipients.join(', ') || 'no agency'}` }],
        outcomeDescription: `Recorded a look-up of alert ${flag.id} by ${looker.agencyId}`,
      },
      ALERTS_TAG,
    ),
  });
  // Only `accepted` or `repeat` can come back for an existing Flag (the same request looking twice is one access).
  if (result.kind !== 'accepted') return result.kind === 'repeat' ? recipients : [];
  await ctx.deliveries
    .addDeliveries(recipients.map((agencyId) => ({ origin, messageId, agencyId })))
    .catch((err: unknown) => log.warn({ err, messageId }, 'could not queue access notifications now; the sweeper will'));
  return recipients;
}
