import { accessMessageIdOf, deadLetterReportIdOf, flagIdOf, messageIdOf } from './ids.js';

describe('the hub’s ids', () => {
  it('name the same message for the same sender and MessageHeader.id, and different ones otherwise', () => {
    expect(messageIdOf('nhs-lothian', 'h-1')).toBe(messageIdOf('nhs-lothian', 'h-1'));
    expect(messageIdOf('nhs-lothian', 'h-1')).not.toBe(messageIdOf('nhs-fife', 'h-1'));
    expect(messageIdOf('nhs-lothian', 'h-1')).not.toBe(messageIdOf('nhs-lothian', 'h-2'));
  });

  it('keep an alert’s id from one sender apart from another’s with the same local id', () => {
    expect(flagIdOf('a', 'f')).not.toBe(flagIdOf('b', 'f'));
    expect(flagIdOf('a', 'f')).not.toBe(messageIdOf('a', 'f'));
  });

  it('are FHIR ids and valid delivery job id parts', () => {
    for (const id of [messageIdOf('x', 'y'), flagIdOf('x', 'y'), accessMessageIdOf('flag-1', 'req-1'), deadLetterReportIdOf('msg-1', 'a', 2)]) {
      expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
      // BullMQ job id parts (shared/queue/queues.ts jobIdOf): no ~, :, braces, never integer-like.
      expect(id).not.toMatch(/[~:{}]/);
      expect(String(Number.parseInt(id, 10))).not.toBe(id);
    }
  });
});
