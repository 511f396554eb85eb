import type { Bundle, Endpoint, Flag, MessageHeader } from 'fhir/r4.js';
import { CodeSystems, Extensions, HUB_CONNECTION_TYPE } from '../../../shared/fhir/systems.js';
import { asAgencyMessage, forwardedFlagIdOf, forwardedMessageIdOf, forwardingUrlOf, isPeerHub, peerHubOf } from './peer-hubs.js';

const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'fife-kid', alg: 'ES256', use: 'sig' };

function hubEndpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    resourceType: 'Endpoint',
    id: 'fife-hscp-hub',
    extension: [{ url: Extensions.hubPublicJwk, valueString: JSON.stringify(jwk) }],
    status: 'active',
    connectionType: { system: CodeSystems.endpointConnectionType, code: HUB_CONNECTION_TYPE },
    managingOrganization: { reference: 'Organization/fife-hscp' },
    payloadType: [{ text: 'any' }],
    address: 'http://localhost:4102/fhir/',
    ...overrides,
  };
}

describe('peer hubs in the directory', () => {
  it('reads a partnership’s hub Endpoint: where forwarded alerts go and the key its messages must be signed with', () => {
    const hub = peerHubOf('fife-hscp', [hubEndpoint()]);
    expect(hub).toEqual({ partnership: 'fife-hscp', alertsBase: 'http://localhost:4102/fhir', publicJwk: jwk, endpoint: 'Endpoint/fife-hscp-hub' });
    expect(isPeerHub(hub) && forwardingUrlOf(hub)).toBe('http://localhost:4102/fhir/$process-message');
  });

  it('ignores agency delivery Endpoints, retired ones and another partnership’s, and says why there is no hub', () => {
    const agencyEndpoint = hubEndpoint({ connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' } });
    const retired = hubEndpoint({ status: 'off' });
    const lothians = hubEndpoint({ managingOrganization: { reference: 'Organization/lothian-hscp' } });
    const result = peerHubOf('fife-hscp', [agencyEndpoint, retired, lothians]);
    expect(isPeerHub(result)).toBe(false);
    expect(result).toMatchObject({ partnership: 'fife-hscp', problem: expect.stringMatching(/no active infoshare-hub Endpoint/) });
  });

  it('refuses a hub that pins no readable key or has no http(s) address, and two hubs for one partnership', () => {
    expect(peerHubOf('fife-hscp', [hubEndpoint({ extension: [] })])).toMatchObject({ problem: expect.stringMatching(/pins no readable public key/) });
    expect(peerHubOf('fife-hscp', [hubEndpoint({ extension: [{ url: Extensions.hubPublicJwk, valueString: '{"kty":"EC"}' }] })])).toMatchObject({ problem: expect.stringMatching(/pins no readable public key/) });
    expect(peerHubOf('fife-hscp', [hubEndpoint({ address: 'mllp://localhost:2575' })])).toMatchObject({ problem: expect.stringMatching(/no http\(s\) address/) });
    expect(peerHubOf('fife-hscp', [hubEndpoint(), hubEndpoint({ id: 'second' })])).toMatchObject({ problem: expect.stringMatching(/2 active infoshare-hub Endpoints/) });
  });
});

describe('forwarded alerts at the receiving hub', () => {
  it('names one local message and alert per origin message and recipient, the same again on a retry', () => {
    const once = forwardedMessageIdOf('lothian-hscp', 'edinburgh-social-work', 'msg-1', ['vhk-emergency']);
    expect(forwardedMessageIdOf('lothian-hscp', 'edinburgh-social-work', 'msg-1', ['vhk-emergency'])).toBe(once);
    expect(forwardedMessageIdOf('lothian-hscp', 'edinburgh-social-work', 'msg-1', ['nhs-fife'])).not.toBe(once);
    expect(forwardedMessageIdOf('other-hscp', 'edinburgh-social-work', 'msg-1', ['vhk-emergency'])).not.toBe(once);
    expect(once).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    const flag = forwardedFlagIdOf('lothian-hscp', 'edinburgh-social-work', 'flag-1', ['vhk-emergency']);
    expect(forwardedFlagIdOf('lothian-hscp', 'edinburgh-social-work', 'flag-1', ['vhk-emergency'])).toBe(flag);
    expect(forwardedFlagIdOf('lothian-hscp', 'edinburgh-social-work', 'flag-1', ['nhs-fife'])).not.toBe(flag);
  });

  it('reads a forwarded message as sent by its agency, not by the hub that forwarded it', () => {
    const header: MessageHeader = { resourceType: 'MessageHeader', id: 'm1', eventCoding: { code: 'alert-raised' }, source: { name: 'infoshare alerts hub', endpoint: 'http://localhost:4002/fhir' }, sender: { reference: 'Organization/edinburgh-social-work' } };
    const flag: Flag = { resourceType: 'Flag', id: 'f1', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient/p' } };
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'message',
      entry: [
        { resource: header },
        { resource: flag },
      ],
    };
    const read = asAgencyMessage(bundle);
    expect(read.entry?.[0]?.resource).toMatchObject({ source: { name: 'infoshare alerts hub', endpoint: 'Organization/edinburgh-social-work' } });
    expect(read.entry?.[1]).toBe(bundle.entry?.[1]);
    expect(header.source.endpoint).toBe('http://localhost:4002/fhir');
  });
});
