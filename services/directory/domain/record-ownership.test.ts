import type { Endpoint, PractitionerRole, Practitioner } from 'fhir/r4.js';
import { mayWriteRecord } from './record-ownership.js';

const roleOf = (org: string): PractitionerRole => ({ resourceType: 'PractitionerRole', organization: { reference: `Organization/${org}` } });
const endpointOf = (org: string): Endpoint => ({
  resourceType: 'Endpoint',
  status: 'active',
  connectionType: { code: 'hl7-fhir-rest' },
  payloadType: [{ text: 'FHIR' }],
  address: 'https://example.org/fhir',
  managingOrganization: { reference: `Organization/${org}` },
});

describe('mayWriteRecord', () => {
  const education = { agency: 'edinburgh-education', type: 'education' as const };

  it('Lets an agency maintain its own staff roles and endpoints', () => {
    expect(mayWriteRecord(education, roleOf('edinburgh-education'))).toBe(true);
    expect(mayWriteRecord(education, endpointOf('edinburgh-education'), endpointOf('edinburgh-education'))).toBe(true);
  });

  it('Refuses an agency writing another agency’s roles or endpoints', () => {
    expect(mayWriteRecord(education, roleOf('nhs-lothian'))).toBe(false);
    expect(mayWriteRecord(education, endpointOf('police-scotland-e-division'))).toBe(false);
  });

  it('Refuses taking a record over or giving it away', () => {
    expect(mayWriteRecord(education, roleOf('edinburgh-education'), roleOf('nhs-lothian'))).toBe(false);
    expect(mayWriteRecord(education, roleOf('nhs-lothian'), roleOf('edinburgh-education'))).toBe(false);
  });

  it('Lets the statutory partners administer every agency’s records', () => {
    expect(mayWriteRecord({ agency: 'nhs-lothian', type: 'nhs-board' }, roleOf('edinburgh-education'))).toBe(true);
    expect(mayWriteRecord({ agency: 'edinburgh-social-work', type: 'social-work' }, endpointOf('nhs-lothian'))).toBe(true);
  });

  it('Leaves records that no single agency owns to the scopes', () => {
    const practitioner: Practitioner = { resourceType: 'Practitioner', name: [{ family: 'Teacher' }] };
    expect(mayWriteRecord(education, practitioner)).toBe(true);
  });
});
