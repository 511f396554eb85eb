import { acceptProblem, bodyTypeProblem, conditionalCreateProblem, contentTypeCharset, formatParamProblem, formatParams, instanceReadQueryProblem, ifNoneMatchWriteProblem, metadataQueryProblem, repeatedFormatProblem } from './request-rules.js';

describe('what a FHIR request may ask of a JSON-only R4 hub', () => {
  it('refuses _format naming XML or Turtle with 406, and takes every spelling of JSON', () => {
    for (const f of ['xml', 'text/xml', 'application/fhir+xml', 'application/fhir xml', 'ttl', 'application/fhir+turtle']) expect(formatParamProblem([f])?.status).toBe(406);
    for (const f of ['json', 'application/json', 'application/fhir+json', 'application/fhir json', 'application/fhir+json; fhirVersion=4.0', 'pdf', 'html']) expect(formatParamProblem([f])).toBeUndefined();
    expect(formatParamProblem(['application/fhir+json;fhirVersion=3.0'])?.status).toBe(406);
  });

  it('refuses a _format or an Accept naming only what no route answers in (406), rather than answer JSON silently', () => {
    for (const f of ['foo', 'image/png', 'text/plain']) expect(formatParamProblem([f])?.status).toBe(406);
    for (const a of ['image/png', 'text/plain', 'application/octet-stream, image/*']) expect(acceptProblem(a)?.status).toBe(406);
    expect(acceptProblem('image/png, application/json;q=0.1')).toBeUndefined();
    expect(acceptProblem('application/fhir+json;q=0, image/png')?.status).toBe(406);
  });

  it('refuses an Accept naming only FHIR XML or another FHIR version, and leaves wildcards, JSON and documents to the route', () => {
    expect(acceptProblem('application/fhir+xml')?.status).toBe(406);
    expect(acceptProblem('application/fhir+xml, application/xml;q=0.9')?.status).toBe(406);
    expect(acceptProblem('application/fhir+json; fhirVersion=3.0')?.status).toBe(406);
    for (const a of [undefined, '', '*/*', 'application/fhir+json', 'application/json', 'application/fhir+xml, */*;q=0.1', 'application/pdf', 'text/html,application/xhtml+xml,*/*;q=0.8']) {
      expect(acceptProblem(a)).toBeUndefined();
    }
  });

  it('reads _format from the raw query, and refuses two different ones', () => {
    expect(formatParams('/fhir/Patient?_format=json&_format=xml')).toEqual(['json', 'xml']);
    expect(formatParams('/fhir/Patient?name=_format')).toEqual([]);
    expect(repeatedFormatProblem(['json', 'xml'])?.status).toBe(400);
    expect(repeatedFormatProblem(['json', 'json'])).toBeUndefined();
  });

  it('takes a form only on POST _search, a resource everywhere else, and FHIR R4 only', () => {
    expect(bodyTypeProblem('/fhir/Patient/_search', 'application/fhir+json', false)?.status).toBe(415);
    expect(bodyTypeProblem('/fhir/Patient/_search', 'application/x-www-form-urlencoded', true)).toBeUndefined();
    expect(bodyTypeProblem('/fhir/Patient', 'application/x-www-form-urlencoded', true)?.status).toBe(415);
    expect(bodyTypeProblem('/fhir/Patient', 'application/fhir+json; fhirVersion=4.0', false)).toBeUndefined();
    expect(bodyTypeProblem('/fhir/Patient', 'application/fhir+json; fhirVersion=5.0', false)?.status).toBe(415);
  });

  it('refuses If-None-Exist on a create, and parameters on _history, rather than ignore them', () => {
    expect(conditionalCreateProblem('POST', 'identifier=a|1')?.status).toBe(400);
    expect(conditionalCreateProblem('POST', undefined)).toBeUndefined();
    expect(conditionalCreateProblem('PUT', 'identifier=a|1')).toBeUndefined();
    expect(conditionalCreateProblem('POST', 'identifier=a|1', true)).toBeUndefined();
    expect(instanceReadQueryProblem('/fhir/Organization/x/_history', '/fhir/Organization/x/_history?_count=1')?.status).toBe(400);
    expect(instanceReadQueryProblem('/fhir/Organization/x/_history', '/fhir/Organization/x/_history?_format=json')).toBeUndefined();
    expect(instanceReadQueryProblem('/fhir/Organization', '/fhir/Organization?_count=1')).toBeUndefined();
  });

  it('refuses parameters on a read or vread (400) that it would otherwise ignore, unless the client prefers lenient handling', () => {
    for (const path of ['/fhir/Patient/p1', '/fhir/Patient/p1/_history/2']) {
      for (const query of ['_summary=true', '_elements=name', 'foo=bar', '_format=json&_summary=count']) {
        expect(instanceReadQueryProblem(path, `${path}?${query}`)?.status).toBe(400);
        expect(instanceReadQueryProblem(path, `${path}?${query}`, true)).toBeUndefined();
      }
      expect(instanceReadQueryProblem(path, `${path}?_format=json&_pretty=true`)).toBeUndefined();
      expect(instanceReadQueryProblem(path, path)).toBeUndefined();
      // _summary=false asks for the whole resource, which is what a read answers.
      expect(instanceReadQueryProblem(path, `${path}?_summary=false&_format=json`)).toBeUndefined();
      expect(instanceReadQueryProblem(path, `${path}?_summary=false&_summary=true`)?.status).toBe(400);
    }
    expect(instanceReadQueryProblem('/fhir/Patient/p1/_history', '/fhir/Patient/p1/_history?_summary=false')).toBeUndefined();
    expect(instanceReadQueryProblem('/fhir/Patient/p1', '/fhir/Patient/p1?_elements=name')?.outcome.issue[0]?.expression).toEqual(['_elements']);
    // Operations and searches take their own parameters.
    for (const path of ['/fhir/Patient/$ihe-pix', '/fhir/Patient/p1/$chronology', '/fhir/CarePlan/p1/$render', '/fhir/_async/j1', '/fhir/Patient/_search']) {
      expect(instanceReadQueryProblem(path, `${path}?format=pdf`)).toBeUndefined();
    }
  });

  it('reads the charset of a body as UTF-8 by any of its names, refuses another (415) or a parameter given twice (400)', () => {
    const header = (ct: string) => {
      const read = contentTypeCharset(ct);
      return 'header' in read ? read.header : read.problem.status;
    };
    expect(header('application/fhir+json; charset=UTF-8')).toBe('application/fhir+json; charset=utf-8');
    expect(header('application/fhir+json;charset=utf8')).toBe('application/fhir+json; charset=utf-8');
    expect(header('application/fhir+json; charset="utf-8"; fhirVersion=4.0')).toBe('application/fhir+json; charset=utf-8; fhirVersion=4.0');
    expect(header('application/json')).toBe('application/json');
    expect(header('application/fhir+json; charset=iso-8859-1')).toBe(415);
    expect(header('application/fhir+json; charset=utf-16')).toBe(415);
    expect(header('application/fhir+json; charset=')).toBe(415);
    expect(header('application/fhir+json; charset=utf-8; CHARSET=latin1')).toBe(400);
    expect(header('application/fhir+json; fhirVersion=4.0; fhirversion=3.0')).toBe(400);
  });

  it('refuses If-None-Match on a write whose route does not evaluate it, never on a read', () => {
    expect(ifNoneMatchWriteProblem('PUT', '*')?.status).toBe(400);
    expect(ifNoneMatchWriteProblem('POST', 'W/"1"')?.status).toBe(400);
    expect(ifNoneMatchWriteProblem('PUT', '*', true)).toBeUndefined();
    expect(ifNoneMatchWriteProblem('GET', 'W/"1"')).toBeUndefined();
    expect(ifNoneMatchWriteProblem('PUT', undefined)).toBeUndefined();
  });
});

describe('the parameters of GET /fhir/metadata (R4 capabilities: mode, _format, _pretty)', () => {
  const problem = (query: string, lenient = false) => metadataQueryProblem('/fhir/metadata', `/fhir/metadata${query}`, lenient);

  it('answers the statement with no mode, mode=full or normative, _summary read as the whole statement, _format and _pretty', () => {
    for (const query of ['', '?mode=full', '?mode=normative', '?_summary=true', '?_summary=false', '?_summary=data', '?_format=json&_pretty=true']) expect([query, problem(query)]).toEqual([query, undefined]);
  });

  it('refuses mode=terminology as not supported (no TerminologyCapabilities here), naming mode — lenient handling or not', () => {
    for (const lenient of [false, true]) {
      const refused = problem('?mode=terminology', lenient);
      expect(refused?.status).toBe(400);
      expect(refused?.outcome.issue[0]?.code).toBe('not-supported');
      expect(refused?.outcome.issue[0]?.expression).toEqual(['mode']);
      expect(refused?.message).toMatch(/TerminologyCapabilities/);
    }
  });

  it('refuses another mode, a mode twice, and parameters it does not take (ignored under Prefer: handling=lenient)', () => {
    expect(problem('?mode=bogus')?.message).toMatch(/full, normative or terminology/);
    expect(problem('?mode=bogus', true)?.status).toBe(400);
    expect(problem('?mode=full&mode=full')?.status).toBe(400);
    expect(problem('?_elements=rest')?.outcome.issue[0]?.expression).toEqual(['_elements']);
    expect(problem('?_summary=count')?.message).toMatch(/_summary=count/);
    expect(problem('?foo=1', true)).toBeUndefined();
  });

  it('is about metadata only', () => {
    expect(metadataQueryProblem('/fhir/Patient', '/fhir/Patient?mode=bogus')).toBeUndefined();
  });
});
