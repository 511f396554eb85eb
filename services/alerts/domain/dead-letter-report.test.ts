import type { MessageHeader, Parameters } from 'fhir/r4.js';
import { CodeSystems, Extensions } from '../../../shared/fhir/systems.js';
import { isOperationOutcomeError, statusOf } from '../../../shared/fhir/outcome.js';
import { deadLetterParts, deadLetterReport, isDeadLetterReport, readRelayedReport, reportsItsDeadLetters } from './dead-letter-report.js';
import { deadLetterReportIdOf, relayedReportIdOf } from './ids.js';
import { addressedMessage } from './minimise.js';

const BASE = 'http://localhost:4002/fhir';
const LETTER = { messageId: 'msg-1', agencyId: 'lueccs-ooh', deadAt: '2026-12-07T05:00:00.000Z', attempts: 3, seq: 7, reason: 'lueccs-ooh refused the message (fatal-error)' };

describe('a dead letter as its sender sees it', () => {
  it('names the message, the recipient, when and why, and links its status and its re-drive', () => {
    expect(deadLetterParts(LETTER, BASE)).toEqual([
      { name: 'message', valueString: 'msg-1' },
      { name: 'agency', valueReference: { reference: 'Organization/lueccs-ooh' } },
      { name: 'died', valueInstant: '2026-12-07T05:00:00.000Z' },
      { name: 'attempts', valueInteger: 3 },
      { name: 'sequence', valueInteger: 7 },
      { name: 'reason', valueString: 'lueccs-ooh refused the message (fatal-error)' },
      { name: 'status', valueUrl: `${BASE}/$delivery-status/msg-1` },
      { name: 'redrive', valueUrl: `${BASE}/$redrive/msg-1?agency=lueccs-ooh` },
    ]);
  });

  it('leaves out what is not known rather than inventing it', () => {
    const names = deadLetterParts({ messageId: 'msg-1', agencyId: 'a', deadAt: LETTER.deadAt }, BASE).map((p) => p.name);
    expect(names).toEqual(['message', 'agency', 'died', 'status', 'redrive']);
  });
});

describe('the report of a dead letter to its sender', () => {
  const report = deadLetterReport({
    ...LETTER,
    reportId: 'dlr-1',
    senderAgency: 'edinburgh-social-work',
    senderHeaderId: 'esw-header-9',
    event: 'alert-raised',
    flagId: 'flag-1',
    baseUrl: BASE,
  });
  const header = report.entry?.[0]?.resource as MessageHeader;
  const parameters = report.entry?.[1]?.resource as Parameters;

  it('is a notification message from the hub to the sender, its focus the dead letter', () => {
    expect(report).toMatchObject({ resourceType: 'Bundle', type: 'message', id: 'dlr-1', timestamp: LETTER.deadAt });
    expect(header.eventCoding).toEqual({ system: CodeSystems.alertEvent, code: 'delivery-dead-letter' });
    expect(header.source.endpoint).toBe(BASE);
    expect(header.sender).toBeUndefined();
    expect(header.response).toBeUndefined();
    expect(header.destination).toEqual([{ endpoint: 'Organization/edinburgh-social-work', receiver: { reference: 'Organization/edinburgh-social-work' } }]);
    expect(header.focus).toEqual([{ reference: 'Parameters/dlr-1' }]);
    expect(report.entry?.[1]?.fullUrl).toBe(`${BASE}/Parameters/dlr-1`);
  });

  it("carries the same parts as the sender's $dead-letters entry, and names the sender's own message id, the event and the alert", () => {
    const parts = parameters.parameter?.[0]?.part ?? [];
    expect(parameters.parameter?.[0]?.name).toBe('deadLetter');
    expect(parts.slice(0, 8)).toEqual(deadLetterParts(LETTER, BASE));
    expect(parts.slice(8)).toEqual([
      { name: 'senderMessage', valueString: 'esw-header-9' },
      { name: 'event', valueCode: 'alert-raised' },
      { name: 'flag', valueReference: { reference: 'Flag/flag-1' } },
    ]);
  });

  it('is addressed and numbered for the sender when delivered, and nothing of it is cut', () => {
    const delivered = addressedMessage(report, { agencyId: 'edinburgh-social-work', seq: 12 });
    const deliveredHeader = delivered.entry?.[0]?.resource as MessageHeader;
    expect(deliveredHeader.extension).toEqual([{ url: Extensions.deliverySequence, valueUnsignedInt: 12 }]);
    expect(delivered.entry?.[1]?.resource).toEqual(parameters);
    // The hub's copy is left as it was.
    expect(header.extension).toBeUndefined();
  });
});

describe('which dead letters are reported', () => {
  it('reports the dead letters of alerts and access notifications, never of a report (a report about a report would never end)', () => {
    expect(reportsItsDeadLetters('alert')).toBe(true);
    expect(reportsItsDeadLetters('access')).toBe(true);
    expect(reportsItsDeadLetters('report')).toBe(false);
  });

  it('gives each dead letter its own report id: the same one again for the same letter, a new one after each re-drive', () => {
    expect(deadLetterReportIdOf('msg-1', 'a', 0)).toBe(deadLetterReportIdOf('msg-1', 'a', 0));
    expect(deadLetterReportIdOf('msg-1', 'a', 1)).not.toBe(deadLetterReportIdOf('msg-1', 'a', 0));
    expect(deadLetterReportIdOf('msg-1', 'b', 0)).not.toBe(deadLetterReportIdOf('msg-1', 'a', 0));
  });
});

describe('a dead-letter report relayed by the hub that holds the letter', () => {
  const PARTS = { ...LETTER, reportId: 'dlr-fife-1', senderAgency: 'edinburgh-social-work', senderHeaderId: 'msg-lothian-7', event: 'alert-raised', flagId: 'flag-f', baseUrl: 'http://fife.example/fhir' };
  const relayed = addressedMessage(deadLetterReport(PARTS), { agencyId: 'edinburgh-social-work', seq: 4 });

  it('is told from an alert message by its event', () => {
    expect(isDeadLetterReport(relayed)).toBe(true);
    const alert = { ...relayed, entry: [{ resource: { ...(relayed.entry![0]!.resource as MessageHeader), eventCoding: { system: CodeSystems.alertEvent, code: 'alert-raised' } } }] };
    expect(isDeadLetterReport(alert)).toBe(false);
    expect(isDeadLetterReport({ resourceType: 'Bundle', type: 'message' })).toBe(false);
  });

  it('reads back as the hub that wrote it said it: addressee, recipient, when, why, and the message as its sender named it', () => {
    expect(readRelayedReport(relayed)).toEqual({
      reportId: 'dlr-fife-1',
      senderAgency: 'edinburgh-social-work',
      senderMessage: 'msg-lothian-7',
      agencyId: 'lueccs-ooh',
      deadAt: LETTER.deadAt,
      attempts: 3,
      seq: 7,
      reason: LETTER.reason,
    });
  });

  it('is refused (422) without the message as its sender named it, or without an addressee', () => {
    const refusal = (bundle: typeof relayed) => {
      try {
        readRelayedReport(bundle);
      } catch (err) {
        return isOperationOutcomeError(err) ? statusOf(err) : 'not an OperationOutcome';
      }
      return 'read';
    };
    const { senderHeaderId: _dropped, ...withoutSenderMessage } = PARTS;
    expect(refusal(deadLetterReport(withoutSenderMessage))).toBe(422);
    const header = relayed.entry![0]!.resource as MessageHeader;
    const { destination: _none, ...unaddressed } = header;
    expect(refusal({ ...relayed, entry: [{ resource: unaddressed }, ...relayed.entry!.slice(1)] })).toBe(422);
  });

  it('becomes, at the hub that forwarded the message, a report naming the partnership that holds the letter, re-driven through this hub', () => {
    const here = deadLetterReport({ ...LETTER, reportId: 'dlr-l', senderAgency: 'edinburgh-social-work', event: 'alert-raised', flagId: 'flag-l', baseUrl: BASE, heldBy: 'fife-hscp' });
    const parts = (here.entry?.[1]?.resource as Parameters).parameter?.[0]?.part ?? [];
    expect(parts.map((p) => p.name)).toEqual(['message', 'agency', 'died', 'attempts', 'sequence', 'reason', 'status', 'redrive', 'heldBy', 'event', 'flag']);
    expect(parts.find((p) => p.name === 'redrive')?.valueUrl).toBe(`${BASE}/$redrive/msg-1?agency=lueccs-ooh`);
    expect(parts.find((p) => p.name === 'heldBy')).toEqual({ name: 'heldBy', valueReference: { reference: 'Organization/fife-hscp' } });
    expect(relayedReportIdOf('fife-hscp', 'dlr-fife-1')).toBe(relayedReportIdOf('fife-hscp', 'dlr-fife-1'));
    expect(relayedReportIdOf('fife-hscp', 'dlr-fife-1')).not.toBe(relayedReportIdOf('other-hscp', 'dlr-fife-1'));
  });
});
