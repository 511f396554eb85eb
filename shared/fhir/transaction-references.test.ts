import { transactionReferenceIssues } from './transaction-references.js';

const patient = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', name: [{ family: 'Brown' }], ...extra });

describe('the fullUrls and temporary references of a transaction Bundle', () => {
  it('finds nothing wrong in entries with their own fullUrls and references to stored resources', () => {
    const entries = [
      { fullUrl: 'urn:uuid:7f1c0000-0000-4000-8000-000000000001', resource: patient({ managingOrganization: { reference: 'Organization/nhs-lothian' } }) },
      { fullUrl: 'urn:uuid:7f1c0000-0000-4000-8000-000000000002', resource: patient() },
      { resource: patient() },
    ];
    expect(transactionReferenceIssues(entries)).toEqual([]);
  });

  it('refuses a second entry with the same fullUrl, naming the first (bdl-7)', () => {
    const url = 'urn:uuid:7f1c0000-0000-4000-8000-000000000001';
    const issues = transactionReferenceIssues([{ fullUrl: url, resource: patient() }, { fullUrl: 'urn:uuid:other', resource: patient() }, { fullUrl: url, resource: patient() }]);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.expression).toEqual(['Bundle.entry[2].fullUrl']);
    expect(issues[0]!.details!.text).toContain('already the fullUrl of entry 0');
  });

  it('refuses a urn:uuid reference that no entry resolves, at the element that carries it', () => {
    const issues = transactionReferenceIssues([{ fullUrl: 'urn:uuid:a', resource: patient({ link: [{ other: { reference: 'urn:uuid:nowhere' }, type: 'seealso' }] }) }]);
    expect(issues).toEqual([expect.objectContaining({ code: 'invalid', expression: ['Bundle.entry[0].resource.link[0].other.reference'] })]);
    expect(issues[0]!.details!.text).toContain('names no entry of this Bundle');
  });

  it('refuses a reference to another entry too, before or after it, since it would be stored unresolved', () => {
    const issues = transactionReferenceIssues([
      { fullUrl: 'urn:uuid:a', resource: patient({ link: [{ other: { reference: 'urn:uuid:b' }, type: 'seealso' }] }) },
      { fullUrl: 'urn:uuid:b', resource: patient({ generalPractitioner: [{ reference: 'urn:oid:1.2.3' }] }) },
    ]);
    expect(issues.map((i) => i.expression![0])).toEqual(['Bundle.entry[0].resource.link[0].other.reference', 'Bundle.entry[1].resource.generalPractitioner[0].reference']);
    expect(issues[0]!.details!.text).toContain('names another entry of this Bundle');
  });

  it('leaves entries that are not objects to the reader that refuses them', () => {
    expect(transactionReferenceIssues([null, 'x', 3, [], { resource: 'not an object' }])).toEqual([]);
  });
});
