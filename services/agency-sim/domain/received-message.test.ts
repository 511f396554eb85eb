import { CodeSystems, Extensions } from '../../../shared/fhir/systems.js';
import { messageSummaryOf } from './received-message.js';

const header = {
  resourceType: 'MessageHeader',
  id: 'msg-1',
  extension: [{ url: Extensions.deliverySequence, valueUnsignedInt: 42 }],
  eventCoding: { system: CodeSystems.alertEvent, code: 'alert-updated' },
  source: { endpoint: 'Organization/nhs-lothian' },
  focus: [{ reference: 'urn:uuid:f' }],
};
const bundle = (resource: unknown, type = 'message') => ({ resourceType: 'Bundle', type, entry: [{ resource }] });

describe('What a simulated agency keeps of a message', () => {
  it('Reads the message id, event, delivery sequence number and focus', () => {
    expect(messageSummaryOf(bundle(header))).toEqual({
      messageId: 'msg-1',
      event: { system: CodeSystems.alertEvent, code: 'alert-updated' },
      seq: 42,
      focus: ['urn:uuid:f'],
    });
  });

  it('Leaves out what the message does not carry', () => {
    expect(messageSummaryOf(bundle({ resourceType: 'MessageHeader', id: 'm', source: { endpoint: 'x' } }))).toEqual({ messageId: 'm' });
  });

  it('Names what is wrong with a body that is not a message', () => {
    expect(messageSummaryOf(null)).toMatchObject({ expression: 'Bundle' });
    expect(messageSummaryOf(bundle(header, 'collection'))).toMatchObject({ expression: 'Bundle.type' });
    expect(messageSummaryOf(bundle({ resourceType: 'Patient' }))).toMatchObject({ expression: 'Bundle.entry[0].resource' });
    expect(messageSummaryOf(bundle({ ...header, id: undefined }))).toMatchObject({ expression: 'Bundle.entry[0].resource.id' });
  });
});
