import { deadLetterReportOf, type DeadLetterOf } from './dead-letter-reports.js';
import { deadLetterReportIdOf, relayedReportIdOf } from './domain/ids.js';
import type { StoredMessage } from './store.js';

const SENDER = 'edinburgh-social-work';
const MESSAGE: StoredMessage = {
  id: 'msg-1',
  kind: 'alert',
  event: 'alert-raised',
  sender: SENDER,
  headerId: 'esw-1',
  flagId: 'flag-1',
  personId: 'person-1',
  alertCategory: 'child-protection',
  category: 'alert',
  purpose: 'child-protection',
  recipients: ['lueccs-ooh', 'nhs-lothian'],
  acceptedAt: '2026-12-07T04:00:00.000Z',
  origin: { requestId: 'req-raise', agent: { agency: SENDER } },
  bundle: null,
  npLpFromDirectory: false,
};
const DEAD: DeadLetterOf = {
  message: MESSAGE,
  delivery: { agencyId: 'lueccs-ooh', attempts: 2, seq: 9 },
  countedAttempt: true,
  reason: 'The agency refused the message (fatal-error, HTTP 200)',
  at: new Date('2026-12-07T05:00:00.000Z'),
  baseUrl: 'http://localhost:4002/fhir',
  cause: { requestId: 'req-raise', agent: { agency: SENDER } },
};

describe('the report of a dead letter, as the step script accepts it', () => {
  it('is a message to the sender alone, filed under the sender, about the same person and alert, audited under the cause', () => {
    const { report, record } = deadLetterReportOf(DEAD)!;
    expect(report).toMatchObject({
      id: deadLetterReportIdOf('msg-1', 'lueccs-ooh', 0),
      kind: 'report',
      event: 'delivery-dead-letter',
      sender: SENDER,
      recipients: [SENDER],
      flagId: 'flag-1',
      personId: 'person-1',
      acceptedAt: '2026-12-07T05:00:00.000Z',
      origin: { requestId: 'req-raise' },
    });
    expect(record).toMatchObject({ requestId: 'req-raise', subtype: 'delivery-dead-letter', action: 'C', subject: 'Person/person-1', trigger: { kind: 'change' } });
    expect(record.outcomeDescription).toBe(`Dead letter of message msg-1 to lueccs-ooh reported to its sender ${SENDER} as message ${report.id}`);
  });

  it('counts the attempt that ended it, and names the re-drive it followed', () => {
    const parts = (dead: DeadLetterOf) => JSON.stringify(deadLetterReportOf(dead)!.report.bundle);
    expect(parts(DEAD)).toContain('{"name":"attempts","valueInteger":3}');
    expect(parts({ ...DEAD, countedAttempt: false })).toContain('{"name":"attempts","valueInteger":2}');
    expect(deadLetterReportOf({ ...DEAD, delivery: { ...DEAD.delivery, redrives: 2 } })!.report.id).toBe(deadLetterReportIdOf('msg-1', 'lueccs-ooh', 2));
  });

  it('reports an access notification to the agency that looked the alert up, and never a report', () => {
    expect(deadLetterReportOf({ ...DEAD, message: { ...MESSAGE, kind: 'access', sender: 'rie-emergency' } })!.report.recipients).toEqual(['rie-emergency']);
    expect(deadLetterReportOf({ ...DEAD, message: { ...MESSAGE, kind: 'report' } })).toBeUndefined();
  });

  it('names a report relayed by the hub that holds the letter after that hub and its report, and says so in its change record', () => {
    const { report, record, job } = deadLetterReportOf({ ...DEAD, countedAttempt: false, relayedBy: { partnership: 'fife-hscp', reportId: 'dlr-at-fife' } })!;
    expect(report.id).toBe(relayedReportIdOf('fife-hscp', 'dlr-at-fife'));
    expect(report.recipients).toEqual([SENDER]);
    expect(job).toEqual({ origin: report.origin, messageId: report.id, agencyId: SENDER });
    expect(JSON.stringify(report.bundle)).toContain('{"name":"heldBy","valueReference":{"reference":"Organization/fife-hscp"}}');
    expect(record.outcomeDescription).toBe(`Dead letter of message msg-1 to lueccs-ooh (held by the fife-hscp hub, its report dlr-at-fife) reported to its sender ${SENDER} as message ${report.id}`);
  });
});
