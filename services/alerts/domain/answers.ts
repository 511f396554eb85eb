/**
 * What the alerts service answers: the response message to an accepted alert
 * (FHIR messaging: a `message` Bundle whose MessageHeader.response names the
 * request's MessageHeader.id with code `ok`, carrying an OperationOutcome with
 * the hub's message id), and a message's per-recipient delivery status. Pure.
 */
import type { Bundle, Coding, MessageHeader, OperationOutcome, OperationOutcomeIssue, Parameters, ParametersParameter } from 'fhir/r4.js';

export interface AcceptedAnswer {
  readonly messageId: string;
  /** The sender's MessageHeader.id. */
  readonly requestHeaderId: string;
  readonly eventCoding: Coding;
  readonly senderAgency: string;
  readonly flagId: string;
  readonly baseUrl: string;
  readonly statusUrl: string;
  readonly timestamp: string;
  readonly recipients: readonly string[];
  /** The NP/LP details came from the directory: said in the answer. */
  readonly npLpFromDirectory: boolean;
}

/** The response message to an accepted alert. */
export function acceptedAnswer(a: AcceptedAnswer): Bundle {
  const issues: OperationOutcomeIssue[] = [
    {
      severity: 'information',
      code: 'informational',
      details: {
        text: `Accepted as message ${a.messageId} for ${a.recipients.length} recipient(s): ${a.recipients.join(', ')}. Delivery state per recipient: ${a.statusUrl}`,
      },
      diagnostics: a.messageId,
    },
  ];
  if (a.npLpFromDirectory) {
    issues.push({
      severity: 'information',
      code: 'informational',
      details: { text: "The message carried no complete Named Person / Lead Professional details: the hub filled them in from the directory's CareTeam for this person" },
      expression: ['Bundle.entry.resource.ofType(CareTeam)'],
    });
  }
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', id: `${a.messageId}-outcome`, issue: issues };
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: `${a.messageId}-response`,
    eventCoding: a.eventCoding,
    source: { name: 'infoshare alerts hub', endpoint: a.baseUrl },
    destination: [{ endpoint: `Organization/${a.senderAgency}`, receiver: { reference: `Organization/${a.senderAgency}` } }],
    response: { identifier: a.requestHeaderId, code: 'ok', details: { reference: `OperationOutcome/${outcome.id ?? ''}` } },
    focus: [{ reference: `Flag/${a.flagId}` }],
  };
  return {
    resourceType: 'Bundle',
    id: `${a.messageId}-response`,
    type: 'message',
    timestamp: a.timestamp,
    entry: [
      { fullUrl: `${a.baseUrl}/MessageHeader/${header.id ?? ''}`, resource: header },
      { fullUrl: `${a.baseUrl}/OperationOutcome/${outcome.id ?? ''}`, resource: outcome },
    ],
  };
}

/** One recipient's delivery as the status shows it. */
export interface RecipientStatus {
  readonly agencyId: string;
  readonly state: string;
  readonly attempts: number;
  readonly seq: number;
  readonly lastError?: string;
  readonly nextAttemptAt?: string;
  readonly updatedAt: string;
}

export interface MessageStatus {
  readonly messageId: string;
  readonly event: string;
  readonly flagId: string;
  readonly acceptedAt: string;
  readonly recipients: readonly RecipientStatus[];
}

/** `$delivery-status`: the message and each recipient's delivery state, as Parameters. */
export function deliveryStatusParameters(s: MessageStatus): Parameters {
  const recipient = (r: RecipientStatus): ParametersParameter => ({
    name: 'recipient',
    part: [
      { name: 'agency', valueReference: { reference: `Organization/${r.agencyId}` } },
      { name: 'state', valueCode: r.state },
      { name: 'attempts', valueInteger: r.attempts },
      { name: 'sequence', valueInteger: r.seq },
      ...(r.lastError ? [{ name: 'lastError', valueString: r.lastError }] : []),
      ...(r.nextAttemptAt ? [{ name: 'nextAttemptAt', valueInstant: r.nextAttemptAt }] : []),
      ...(r.updatedAt ? [{ name: 'updated', valueInstant: r.updatedAt }] : []),
    ],
  });
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'message', valueString: s.messageId },
      { name: 'event', valueCode: s.event },
      { name: 'flag', valueReference: { reference: `Flag/${s.flagId}` } },
      { name: 'accepted', valueInstant: s.acceptedAt },
      ...s.recipients.map(recipient),
    ],
  };
}
