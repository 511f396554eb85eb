import type { CarePlan } from 'fhir/r4.js';
import { diffParameters, diffResources } from './diff.js';

const v1: CarePlan = {
  resourceType: 'CarePlan',
  id: 'p1',
  meta: { versionId: '1', lastUpdated: '2026-11-01T10:00:00Z', tag: [{ code: 'a' }] },
  status: 'draft',
  intent: 'plan',
  title: 'Plan',
  subject: { reference: 'Patient/x' },
  activity: [{ detail: { status: 'not-started', description: 'Visit' } }],
};

describe('diffResources', () => {
  it('finds nothing between a version and itself re-stamped', () => {
    expect(diffResources(v1, { ...v1, meta: { ...v1.meta, versionId: '2', lastUpdated: '2026-11-02T10:00:00Z' } })).toEqual([]);
  });

  it('lists replaced, added and removed elements by path with their values', () => {
    const v2: CarePlan = {
      ...v1,
      meta: { versionId: '2' },
      status: 'active',
      description: 'Now agreed',
      activity: [{ detail: { status: 'in-progress', description: 'Visit' } }, { detail: { status: 'not-started', description: 'Nursery place' } }],
    };
    delete (v2 as { title?: string }).title;
    expect(diffResources(v1, v2)).toEqual([
      { type: 'replace', path: 'CarePlan.status', previousValue: 'draft', value: 'active' },
      { type: 'delete', path: 'CarePlan.title', previousValue: 'Plan' },
      { type: 'replace', path: 'CarePlan.activity[0].detail.status', previousValue: 'not-started', value: 'in-progress' },
      { type: 'add', path: 'CarePlan.activity[1]', value: { detail: { status: 'not-started', description: 'Nursery place' } } },
      { type: 'delete', path: 'CarePlan.meta', previousValue: { tag: [{ code: 'a' }] } },
      { type: 'add', path: 'CarePlan.description', value: 'Now agreed' },
    ]);
  });

  it('renders as Parameters with one operation per change, primitives typed and objects as JSON', () => {
    const parameters = diffParameters('CarePlan/p1/_history/1', 'CarePlan/p1/_history/2', [
      { type: 'replace', path: 'CarePlan.status', previousValue: 'draft', value: 'active' },
      { type: 'add', path: 'CarePlan.activity[1]', value: { detail: { status: 'x' } } },
    ]);
    expect(parameters.parameter?.[0]).toEqual({ name: 'from', valueString: 'CarePlan/p1/_history/1' });
    expect(parameters.parameter?.[2]?.part).toEqual([
      { name: 'type', valueCode: 'replace' },
      { name: 'path', valueString: 'CarePlan.status' },
      { name: 'previousValue', valueString: 'draft' },
      { name: 'value', valueString: 'active' },
    ]);
    expect(parameters.parameter?.[3]?.part?.[2]).toEqual({ name: 'value', valueString: '{"detail":{"status":"x"}}' });
  });
});
