import { verifyClientAssertion, type RegisteredClient } from '../auth/client-assertion.js';
import type { JtiStore } from '../auth/jti-store.js';
import { generateKeyPair } from '../auth/keys.js';
import { signClientAssertion } from './client-assertion.js';
import { tokenRequestForm } from './token.js';

const TOKEN_URL = 'http://localhost:4000/auth/token';

function memoryJtiStore(): JtiStore {
  const seen = new Set<string>();
  return {
    async remember(clientId, jti) {
      const key = `${clientId}:${jti}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

describe('client assertions an agency system signs', () => {
  const pair = generateKeyPair('ES256');
  const client: RegisteredClient = {
    clientId: 'nhs-lothian',
    agency: 'nhs-lothian',
    partnership: 'lothian-hscp',
    publicJwk: pair.publicJwk,
    allowedScopes: ['system/*.read'],
  };
  const deps = { clients: async (id: string) => (id === client.clientId ? client : undefined), tokenUrl: TOKEN_URL };

  it('are accepted by the directory’s verifier', async () => {
    const assertion = signClientAssertion({ clientId: 'nhs-lothian', tokenUrl: TOKEN_URL, key: pair.signingKey });
    await expect(verifyClientAssertion(assertion, { ...deps, jtiStore: memoryJtiStore() })).resolves.toBe(client);
  });

  it('carry a fresh jti each time, so two token requests in a row both work', async () => {
    const store = memoryJtiStore();
    for (let i = 0; i < 2; i++) {
      const assertion = signClientAssertion({ clientId: 'nhs-lothian', tokenUrl: TOKEN_URL, key: pair.signingKey });
      await expect(verifyClientAssertion(assertion, { ...deps, jtiStore: store })).resolves.toBe(client);
    }
  });

  it('refuse to be made longer-lived than the endpoint accepts', () => {
    expect(() => signClientAssertion({ clientId: 'nhs-lothian', tokenUrl: TOKEN_URL, key: pair.signingKey, lifetimeSeconds: 301 })).toThrow(
      RangeError,
    );
  });
});

describe('the token request form', () => {
  it('asks for client_credentials with a JWT-bearer assertion, the scope and the acting practitioner', () => {
    expect(tokenRequestForm({ clientAssertion: 'a.b.c', scope: 'system/CareTeam.read', practitionerRole: 'np-1' })).toEqual({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'a.b.c',
      scope: 'system/CareTeam.read',
      practitioner_role: 'PractitionerRole/np-1',
    });
  });

  it('leaves the scope out when none is asked for (the agency’s registered scopes are granted)', () => {
    expect(tokenRequestForm({ clientAssertion: 'a.b.c', patient: 'Patient/p1' })).not.toHaveProperty('scope');
    expect(tokenRequestForm({ clientAssertion: 'a.b.c', patient: 'Patient/p1' }).patient).toBe('Patient/p1');
  });
});
