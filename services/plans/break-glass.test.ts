import { preloadFhirDefinitions } from '../../shared/fhir/validate.js';
import { valueProblems } from '../../shared/fhir/value-checks.js';
import { noticeIdOf } from './break-glass-notices.js';
import { noticeMessage } from './break-glass.js';

describe('the break-glass notice as an alerts message', () => {
  // A request id is a UUID and a person id ~20 characters: the notice id takes all 64 characters an id allows.
  const messageId = noticeIdOf('b4cfff51-bcaa-4329-a67b-0fd20d5cc2fa', 'per-c108c5e56aada7d2');
  const message = noticeMessage({
    id: messageId,
    messageId,
    requestId: 'b4cfff51-bcaa-4329-a67b-0fd20d5cc2fa',
    agent: { clientId: 'rie-emergency', agency: 'rie-emergency', partnership: 'lothian-hscp' },
    agencyId: 'rie-emergency',
    personId: 'per-c108c5e56aada7d2',
    reason: 'unresponsive on arrival',
    read: ['CarePlan/4b4ff62a-8804-42fd-816a-3b7ce1bf642d'],
    at: new Date('2026-12-07T03:02:29.179Z'),
    recipients: ['nhs-lothian', 'edinburgh-social-work'],
    chi: '1403231236',
  });

  it('is a message the alerts service accepts whatever the length of its id: every id and reference within FHIR limits', () => {
    expect(messageId.length).toBeGreaterThan(56);
    preloadFhirDefinitions();
    expect(valueProblems(message as unknown as Record<string, unknown>).issues).toEqual([]);
  });

  it('says who read, when and why, about the person named by CHI', () => {
    const resources = message.entry!.map((e) => e.resource!);
    const flag = resources.find((r) => r.resourceType === 'Flag');
    expect(flag).toMatchObject({ id: messageId, subject: { reference: 'Patient/subject' } });
    expect(JSON.stringify(flag)).toContain('unresponsive on arrival');
    expect(JSON.stringify(flag)).toContain('2026-12-07T03:02:29.179Z');
    expect(resources.find((r) => r.resourceType === 'Patient')).toMatchObject({ id: 'subject', identifier: [{ value: '1403231236' }] });
  });
});
