/**
 * What the alerts service answers: the response message to an accepted alert
 * (FHIR messaging: a `message` Bundle whose MessageHeader.response names the
 * request's MessageHeader.id with code `ok`, carrying an OperationOutcome with
 * the hub's message id), and a message's per-recipient delivery status. Pure.
 */
import type { Bundle, Coding, MessageHeader, OperationOutcome, OperationOutcomeIssue, Parameters, ParametersParameter } from 'fhir/r4.js';
import { buildResponseMessage } from '../../../shared/messaging/response-message.js';

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
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: issues };
  const answer = buildResponseMessage({
    requestHeaderId: a.requestHeaderId,
    code: 'ok',
    source: { endpoint: a.baseUrl, name: 'infoshare alerts hub' },
    destination: a.senderAgency,
    details: outcome,
    event: a.eventCoding,
    id: `${a.messageId}-response`,
    timestamp: a.timestamp,
  });
  // The answer names the alert it is about, so a client can follow it (GET /fhir/Flag/<id>).
  const header = answer.entry?.[0]?.resource as MessageHeader;
  header.focus = [{ reference: `Flag/${a.flagId}` }];
  return answer;
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
