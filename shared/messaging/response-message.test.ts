import type { Bundle, MessageHeader } from 'fhir/r4.js';
import { validityOf } from '../fhir/validate.js';
import { CodeSystems } from '../fhir/systems.js';
import {
  buildResponseMessage,
  isResponseMessage,
  isResponseMessageProblem,
  parseResponseMessage,
  type ParsedResponseMessage,
  type ResponseMessageProblem,
} from './response-message.js';

const headerOf = (b: Bundle) => b.entry?.[0]?.resource as MessageHeader;

function parsed(bundle: unknown): ParsedResponseMessage {
  const r = parseResponseMessage(bundle);
  if (isResponseMessageProblem(r)) throw new Error(r.problem);
  return r;
}

function problem(bundle: unknown): ResponseMessageProblem {
  const r = parseResponseMessage(bundle);
  if (!isResponseMessageProblem(r)) throw new Error('parsed as a response message');
  return r;
}

describe('Response messages', () => {
  it('Builds an ok acknowledgement that is a valid R4 message Bundle naming the message answered', () => {
    const bundle = buildResponseMessage({ requestHeaderId: 'msg-1', code: 'ok', source: 'fife-police', destination: 'lothian-hscp' });
    expect(validityOf(bundle)).toEqual({ valid: true });
    const header = headerOf(bundle);
    expect(header.response).toEqual({ identifier: 'msg-1', code: 'ok' });
    expect(header.sender).toEqual({ reference: 'Organization/fife-police' });
    expect(header.destination?.[0]?.receiver).toEqual({ reference: 'Organization/lothian-hscp' });
  });

  it('Round-trips code, agencies and details through parse', () => {
    for (const code of ['ok', 'transient-error', 'fatal-error'] as const) {
      const bundle = buildResponseMessage({ requestHeaderId: 'msg-2', code, source: 'fife-police', destination: 'lothian-hscp', details: 'because' });
      expect(validityOf(bundle)).toEqual({ valid: true });
      const r = parsed(JSON.parse(JSON.stringify(bundle)));
      expect(r).toMatchObject({ requestHeaderId: 'msg-2', code, sourceAgency: 'fife-police', destinationAgency: 'lothian-hscp' });
      expect(r.headerId).toBe(headerOf(bundle).id);
      expect(r.details?.issue[0]?.details?.text).toBe('because');
      expect(r.details?.issue[0]?.severity).toBe(code === 'ok' ? 'information' : 'error');
    }
  });

  it('Carries a whole OperationOutcome as details, the request event, and endpoint URLs', () => {
    const details = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'information' as const, code: 'informational' as const, details: { text: 'message m-9 accepted' } }] };
    const event = { system: CodeSystems.alertEvent, code: 'alert-raised' };
    const bundle = buildResponseMessage({
      requestHeaderId: 'm-9',
      code: 'ok',
      source: { endpoint: 'http://localhost:4002/fhir', name: 'infoshare alerts' },
      destination: { agency: 'nhs-lothian', endpoint: 'http://agency.example/fhir' },
      details,
      event,
    });
    expect(validityOf(bundle)).toEqual({ valid: true });
    expect(headerOf(bundle).eventCoding).toEqual(event);
    expect(headerOf(bundle).source.endpoint).toBe('http://localhost:4002/fhir');
    const r = parsed(bundle);
    expect(r.sourceAgency).toBeUndefined();
    expect(r.destinationAgency).toBe('nhs-lothian');
    expect(r.details?.issue).toEqual(details.issue);
  });

  it('Tells a response message from a new message', () => {
    const response = buildResponseMessage({ requestHeaderId: 'm', code: 'ok', source: 'a' });
    const request = { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', eventCoding: { code: 'alert-raised' }, source: { endpoint: 'x' } } }] };
    expect(isResponseMessage(response)).toBe(true);
    expect(isResponseMessage(request)).toBe(false);
    expect(isResponseMessage({ resourceType: 'Patient' })).toBe(false);
    expect(isResponseMessage(null)).toBe(false);
  });

  it('Names what is wrong with a Bundle that is not a usable response message', () => {
    const good = buildResponseMessage({ requestHeaderId: 'm', code: 'ok', source: 'a', details: 'fine' });
    const withHeader = (changes: Partial<MessageHeader> | ((h: MessageHeader) => MessageHeader)) => {
      const copy = JSON.parse(JSON.stringify(good)) as Bundle;
      const h = headerOf(copy);
      copy.entry![0]!.resource = typeof changes === 'function' ? changes(h) : { ...h, ...changes };
      return copy;
    };
    expect(problem({ resourceType: 'Patient' }).expression).toBe('Bundle');
    expect(problem({ ...good, type: 'collection' }).expression).toBe('Bundle.type');
    expect(problem({ ...good, entry: [] }).expression).toBe('Bundle.entry[0].resource');
    expect(problem(withHeader((h) => ({ ...h, response: undefined }))).expression).toBe('Bundle.entry[0].resource.response');
    expect(problem(withHeader((h) => ({ ...h, response: { ...h.response!, identifier: '' } }))).expression).toBe('Bundle.entry[0].resource.response.identifier');
    expect(problem(withHeader((h) => ({ ...h, response: { ...h.response!, code: 'maybe' as 'ok' } }))).expression).toBe('Bundle.entry[0].resource.response.code');
    expect(problem(withHeader((h) => ({ ...h, response: { ...h.response!, details: { reference: 'urn:uuid:nowhere' } } }))).expression).toBe(
      'Bundle.entry[0].resource.response.details',
    );
  });
});
