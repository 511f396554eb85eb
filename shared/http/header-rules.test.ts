import { expectationProblem, hostProblem, repeatedHeaderProblem } from './header-rules.js';

describe('what HTTP asks of the headers', () => {
  it('refuses an HTTP/1.1 request without Host, and any request with Host twice (400)', () => {
    expect(hostProblem({ httpVersion: '1.1', rawHeaders: ['Accept', '*/*'] })?.status).toBe(400);
    expect(hostProblem({ httpVersion: '1.1', rawHeaders: ['Host', 'a', 'HOST', 'b'] })?.outcome.issue[0]?.details?.text).toMatch(/more than one Host/);
    expect(hostProblem({ httpVersion: '1.1', rawHeaders: ['host', 'hub.example'] })).toBeUndefined();
    // HTTP/1.0 had no Host requirement.
    expect(hostProblem({ httpVersion: '1.0', rawHeaders: [] })).toBeUndefined();
  });

  it('refuses Content-Type or Authorization given twice (Node would keep the first silently), in any case', () => {
    const twice = (name: string) => repeatedHeaderProblem({ httpVersion: '1.1', rawHeaders: ['Host', 'h', name, 'a', name.toUpperCase(), 'b'] });
    expect(twice('Content-Type')?.status).toBe(400);
    expect(twice('Content-Type')?.outcome.issue[0]?.details?.text).toMatch(/more than one Content-Type/);
    expect(twice('Authorization')?.status).toBe(400);
    expect(repeatedHeaderProblem({ httpVersion: '1.1', rawHeaders: ['Content-Type', 'a', 'Authorization', 'b', 'Accept', 'x', 'Accept', 'y'] })).toBeUndefined();
  });

  it('refuses an Expect other than 100-continue with 417', () => {
    expect(expectationProblem('bogus')?.status).toBe(417);
    expect(expectationProblem('100-Continue')).toBeUndefined();
    expect(expectationProblem(undefined)).toBeUndefined();
  });
});
