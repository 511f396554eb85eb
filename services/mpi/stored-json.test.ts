/**
 * A registered record's stored JSON made from its submitted JSON (registration.ts storedJson, made
 * before the index lock): byte for byte what serialising the stored version gives, since an
 * unchanged replay of a chunk is recognised by comparing the stored text.
 */
import type { Patient } from 'fhir/r4.js';
import { storedJson } from './registration.js';

const meta = { versionId: '1', lastUpdated: '2026-12-07T02:00:00.000Z' };

it.each<[string, Patient]>([
  ['a typical agency record', { resourceType: 'Patient', identifier: [{ system: 'urn:x', value: '1' }], name: [{ family: 'Brown', given: ['Liam'] }], birthDate: '2003-04-19' }],
  ['a record with escapes and non-ASCII text', { resourceType: 'Patient', name: [{ family: 'Ó "Quinn"\\\u001f', given: ['Zoë'] }] }],
  ['a record with only its resource type', { resourceType: 'Patient' }],
])('gives the same bytes as serialising the stored version: %s', (_, submitted) => {
  const stored: Patient = { ...submitted, id: 'nhs-lothian.1', meta };
  expect(storedJson(JSON.stringify(submitted), 'nhs-lothian.1', meta)).toBe(JSON.stringify(stored));
});

it('gives the same bytes for an object without elements', () => {
  expect(storedJson('{}', 'a.1', meta)).toBe(JSON.stringify({ id: 'a.1', meta }));
});
