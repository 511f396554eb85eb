import { evaluatePath, evaluateResponsePath, parsePath, PathSyntaxError, setAtPath } from './paths.js';

const bundle = {
  resourceType: 'Bundle',
  entry: [
    { resource: { resourceType: 'CareTeam', id: 'ct1', participant: [{ member: { reference: 'PractitionerRole/np1' } }] } },
    { resource: { resourceType: 'PractitionerRole', id: 'np1', telecom: [{ system: 'phone', value: '0131 000 0001' }] } },
    { resource: { resourceType: 'PractitionerRole', id: 'lp1', telecom: [{ system: 'email', value: 'lp@example.scot' }] } },
  ],
};

describe('paths into a response', () => {
  it('reads members and array elements by index', () => {
    expect(evaluatePath(bundle, 'entry.1.resource.id')).toEqual({ found: true, value: 'np1' });
  });

  it('gives the length of arrays and strings', () => {
    expect(evaluatePath(bundle, 'entry.length').value).toBe(3);
    expect(evaluatePath(bundle, 'resourceType.length').value).toBe(6);
  });

  it('reports a missing member or index as not found', () => {
    expect(evaluatePath(bundle, 'entry.7.resource').found).toBe(false);
    expect(evaluatePath(bundle, 'total').found).toBe(false);
    expect(evaluatePath(bundle, 'entry.0.resource.nope.deeper').found).toBe(false);
  });

  it('collects a member of every element with *', () => {
    expect(evaluatePath(bundle, 'entry.*.resource.resourceType').value).toEqual(['CareTeam', 'PractitionerRole', 'PractitionerRole']);
  });

  it('flattens nested * so the result is one list', () => {
    expect(evaluatePath(bundle, 'entry.*.resource.telecom.*.system').value).toEqual(['phone', 'email']);
  });

  it('keeps only elements matching a filter', () => {
    const r = evaluatePath(bundle, 'entry[resource.resourceType=PractitionerRole].resource.id');
    expect(r.value).toEqual(['np1', 'lp1']);
  });

  it('reads a * right after a filter as the filter itself (it already visits each element)', () => {
    expect(evaluatePath(bundle, 'entry[resource.resourceType=PractitionerRole].*.resource.id').value).toEqual(['np1', 'lp1']);
  });

  it('picks one kept element with an index right after a filter', () => {
    const verify = { parameter: [{ name: 'digest', valueString: 'x' }, { name: 'allSigned', valueBoolean: true }] };
    expect(evaluatePath(verify, 'parameter[name=allSigned].0.valueBoolean')).toEqual({ found: true, value: true });
    expect(evaluatePath(verify, 'parameter[name=nothing].0.valueBoolean').found).toBe(false);
  });

  it('gives an empty list when a filter keeps nothing, so length checks read 0', () => {
    expect(evaluatePath(bundle, 'entry[resource.resourceType=Patient]').value).toEqual([]);
    expect(evaluatePath(bundle, 'entry[resource.resourceType=Patient].length').value).toBe(0);
  });

  it('reads a list FHIR JSON leaves out when empty (a search that found nothing has no entry) as length 0', () => {
    const nothingFound = { resourceType: 'Bundle', type: 'searchset', total: 0 };
    expect(evaluatePath(nothingFound, 'entry.length')).toEqual({ found: true, value: 0 });
    expect(evaluatePath(nothingFound, 'entry[resource.resourceType=Patient].length')).toEqual({ found: true, value: 0 });
    expect(evaluatePath(nothingFound, 'entry.0.resource').found).toBe(false);
    expect(evaluatePath(nothingFound, 'link.0.url.length').found).toBe(false);
    expect(evaluatePath({ entry: null }, 'entry.length').found).toBe(false);
  });

  it('reads the whole body for "." and ""', () => {
    expect(evaluatePath(bundle, '.').value).toBe(bundle);
    expect(evaluatePath(bundle, '').value).toBe(bundle);
  });

  it('addresses the status, headers (any case) and body explicitly with $ roots', () => {
    const response = { status: 201, headers: { etag: 'W/"1"', location: 'http://x/fhir/Contract/c1/_history/1' }, body: { id: 'c1' } };
    expect(evaluateResponsePath(response, '$status').value).toBe(201);
    expect(evaluateResponsePath(response, '$headers.ETag').value).toBe('W/"1"');
    expect(evaluateResponsePath(response, '$body.id').value).toBe('c1');
    expect(evaluateResponsePath(response, 'id').value).toBe('c1');
    expect(evaluateResponsePath(response, '$headers.x-missing').found).toBe(false);
  });

  it('refuses paths it cannot read, saying why', () => {
    expect(() => parsePath('entry[resource.resourceType')).toThrow(PathSyntaxError);
    expect(() => parsePath('entry..id')).toThrow(/empty segment/);
    expect(() => parsePath('entry[noequals]')).toThrow(/filter/);
    expect(() => evaluateResponsePath({ status: 200, headers: {}, body: {} }, '$nope')).toThrow(/root/);
  });
});

describe('editing a body by path', () => {
  it('sets nested members, creating objects and arrays on the way', () => {
    const body: Record<string, unknown> = { resourceType: 'Contract' };
    setAtPath(body, 'term.0.text', 'Edited after signing');
    expect(body).toEqual({ resourceType: 'Contract', term: [{ text: 'Edited after signing' }] });
  });

  it('removes members and array elements', () => {
    const body = { id: 'isp', signer: [{ a: 1 }, { b: 2 }], meta: { versionId: '3' } };
    setAtPath(body, 'id', undefined, true);
    setAtPath(body, 'signer.0', undefined, true);
    setAtPath(body, 'meta.nope.deeper', undefined, true);
    expect(body).toEqual({ signer: [{ b: 2 }], meta: { versionId: '3' } });
  });

  it('refuses wildcards and the whole body', () => {
    expect(() => setAtPath({}, 'entry.*.id', 1)).toThrow(/plain paths/);
    expect(() => setAtPath({}, '.', 1)).toThrow(/whole body/);
  });
});
