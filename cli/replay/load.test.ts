import { parseScenario } from './load.js';

const valid = {
  name: 'Named Person look-up',
  steps: [
    {
      name: 'Education finds the child’s Named Person',
      as: 'edinburgh-education',
      fhir: { service: 'directory', interaction: 'search', resourceType: 'CareTeam', params: { subject: 'Patient/demo-child-1' } },
      expect: { status: 200, checks: [{ path: 'entry.length', atLeast: 1 }] },
      save: { careTeam: 'entry.0.resource' },
      criteria: ['PD-L3'],
    },
    {
      name: 'Ask for a token twice with one assertion',
      as: { agency: 'nhs-lothian', scope: 'system/CareTeam.read' },
      token: { assertion: 'replayed' },
      expect: { status: 401, outcome: 'login' },
      waitFor: true,
    },
  ],
};

describe('reading a scenario file', () => {
  it('accepts a valid scenario and fills in the defaults', () => {
    const { scenario, problems } = parseScenario(JSON.stringify(valid));
    expect(problems).toEqual([]);
    expect(scenario?.steps[0]?.as).toEqual({ agency: 'edinburgh-education' });
    expect(scenario?.steps[1]?.waitFor).toEqual({ timeoutMs: 10_000, intervalMs: 250 });
  });

  it('says when the file is not JSON', () => {
    expect(parseScenario('{ "name": ').problems[0]).toMatch(/^not valid JSON/);
  });

  it('lists every problem with where it is', () => {
    const broken = {
      name: 'Broken',
      steps: [
        { name: 'no request', as: 'nhs-lothian' },
        { name: 'two requests', as: 'nhs-lothian', http: { service: 'directory', method: 'GET', path: '/health' }, token: {} },
        { name: 'read without id', as: 'nhs-lothian', fhir: { service: 'directory', interaction: 'read', resourceType: 'Contract' } },
        { name: 'unknown service', http: { service: 'nowhere', method: 'GET', path: '/' } },
        { name: 'not a criterion', http: { service: 'mpi', method: 'GET', path: '/' }, criteria: ['XX-L9'] },
        { name: 'typo', http: { service: 'mpi', method: 'GET', path: '/' }, expcet: { status: 200 } },
      ],
    };
    const { scenario, problems } = parseScenario(JSON.stringify(broken));
    expect(scenario).toBeUndefined();
    expect(problems).toEqual(
      expect.arrayContaining([
        'steps.0: a step makes exactly one request: fhir, http or token (got none)',
        'steps.1: a step makes exactly one request: fhir, http or token (got http, token)',
        'steps.2.fhir.id: read needs id',
        expect.stringMatching(/^steps\.3\.http\.service: /),
        'steps.4.criteria.0: a maturity criterion code such as SI-L3',
        expect.stringMatching(/^steps\.5: .*expcet/),
      ]),
    );
  });

  it('takes an http path that starts with / or is one saved URL variable (a Content-Location), nothing else', () => {
    const step = (path: string) => ({ name: path, http: { service: 'mpi', method: 'GET', path } });
    const parse = (...paths: string[]) => parseScenario(JSON.stringify({ name: 'x', steps: paths.map(step) })).problems;
    expect(parse('/fhir/metadata', '${statusUrl}')).toEqual([]);
    expect(parse('fhir/metadata')).toEqual(['steps.0.http.path: path starts with / or is one saved ${variable}']);
    expect(parse('${host}/fhir')).toHaveLength(1);
  });

  it('requires an acting agency for token and FHIR steps', () => {
    const { problems } = parseScenario(
      JSON.stringify({ name: 'x', steps: [{ name: 'token', token: {} }, { name: 'read', fhir: { service: 'mpi', interaction: 'capabilities' } }] }),
    );
    expect(problems).toEqual([
      'steps.0.as: a token step needs "as": the agency asking',
      'steps.1.as: a fhir step needs "as" (use "as": {"agency": …, "token": "none"} to send no token)',
    ]);
  });

  it('refuses a check without an operator and an http step with two bodies', () => {
    const { problems } = parseScenario(
      JSON.stringify({
        name: 'x',
        steps: [
          { name: 'a', http: { service: 'mpi', method: 'POST', path: '/fhir', body: {}, text: '{' }, expect: { checks: [{ path: 'id' }] } },
        ],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'steps.0.http: give at most one of body, text, form',
        expect.stringMatching(/^steps\.0\.expect\.checks\.0: a check needs one of/),
      ]),
    );
  });
});
