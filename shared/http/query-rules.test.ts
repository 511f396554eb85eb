import { unknownParameterProblem } from './query-rules.js';

describe('unknownParameterProblem', () => {
  it('passes the parameters a route takes, and _format / _pretty', () => {
    expect(unknownParameterProblem({ offset: '0', count: '5', _format: 'json', _pretty: 'true' }, 'GET /received', ['offset', 'count', 'summary'])).toBeUndefined();
    expect(unknownParameterProblem({}, 'GET /log/key', [])).toBeUndefined();
  });

  it('refuses any other with a 400 naming it and what the route takes', () => {
    const problem = unknownParameterProblem({ count: '5', after: '1' }, 'GET /received', ['offset', 'count', 'summary']);
    expect(problem?.status).toBe(400);
    expect(problem?.outcome.issue[0]?.expression).toEqual(['after']);
    expect(problem?.outcome.issue[0]?.details?.text).toBe("GET /received does not take 'after' (it takes offset, count and summary)");
    expect(unknownParameterProblem({ kid: 'x' }, 'GET /auth/jwks.json', [])?.outcome.issue[0]?.details?.text).toBe("GET /auth/jwks.json does not take 'kid' (it takes no parameters)");
    expect(unknownParameterProblem({ agency: 'x' }, '$inbox', ['after'], 'an agency reads its own inbox')?.outcome.issue[0]?.details?.text).toBe("$inbox does not take 'agency' (it takes after): an agency reads its own inbox");
  });
});
