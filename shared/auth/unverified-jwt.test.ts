import { unverifiedJwt } from './unverified-jwt.js';

const b64 = (json: string) => Buffer.from(json).toString('base64url');
const token = (header: string, payload: string) => `${b64(header)}.${b64(payload)}.c2ln`;

describe('Reading a JWT before verifying it', () => {
  it('reads a header and payload that are JSON objects', () => {
    const decoded = unverifiedJwt(token('{"alg":"ES256","kid":"k"}', '{"iss":"a"}'));
    expect(decoded?.header).toEqual({ alg: 'ES256', kid: 'k' });
    expect(decoded?.payload).toEqual({ iss: 'a' });
  });

  it.each([
    ['a header that is a JSON string', '"x"', '{}'],
    ['a header that is a JSON number', '5', '{"iss":"x"}'],
    ['a header that is null', 'null', '{}'],
    ['a header that is an array', '[{"alg":"ES256"}]', '{}'],
    ['a payload that is null', '{"alg":"ES256","typ":"JWT"}', 'null'],
    ['a payload that is an array', '{"alg":"ES256"}', '[1]'],
    ['a payload that is a JSON string', '{"alg":"ES256"}', '"x"'],
    ['a payload that is not JSON under typ JWT', '{"alg":"ES256","typ":"JWT"}', '{not json'],
  ])('is not a JWT with %s', (_what, header, payload) => {
    expect(unverifiedJwt(token(header, payload))).toBeNull();
  });
});
