import type { Organization } from 'fhir/r4.js';
import { generateKeyPair } from '../../../shared/auth/keys.js';
import { Extensions } from '../../../shared/fhir/systems.js';
import { organizationProblems } from './organization-rules.js';

const withKey = (valueString: string): Organization => ({
  resourceType: 'Organization',
  name: 'Agency',
  extension: [{ url: Extensions.patientIdentifierSystem, valueUri: 'urn:x' }, { url: Extensions.agencyPublicJwk, valueString }],
});

describe('organizationProblems', () => {
  it('Accepts a public EC key', () => {
    expect(organizationProblems(withKey(JSON.stringify(generateKeyPair('ES256').publicJwk)))).toEqual([]);
  });

  it('Refuses a key that carries its private part, pointing at the extension', () => {
    const { signingKey } = generateKeyPair('ES256');
    const privateJwk = signingKey.privateKey.export({ format: 'jwk' });
    const problems = organizationProblems(withKey(JSON.stringify(privateJwk)));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.details?.text).toContain('public half only');
    expect(problems[0]!.expression).toEqual(['Organization.extension[1].valueString']);
  });

  it('Refuses text that is not a usable JWK, and a symmetric key', () => {
    expect(organizationProblems(withKey('not json'))).toHaveLength(1);
    expect(organizationProblems(withKey('[1]'))).toHaveLength(1);
    expect(organizationProblems(withKey(JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' })))).toHaveLength(1);
    expect(organizationProblems(withKey(JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })))).toHaveLength(1);
  });

  it('Has nothing to say about an Organization without a registered key', () => {
    expect(organizationProblems({ resourceType: 'Organization', name: 'GP practice' })).toEqual([]);
  });
});
