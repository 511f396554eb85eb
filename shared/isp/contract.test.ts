import type { Contract } from 'fhir/r4.js';
import { OperationOutcomeError } from '../fhir/outcome.js';
import { Extensions } from '../fhir/systems.js';
import { buildIspContract, parseIspContract } from './contract.js';
import { testIspContract, testIspDraft } from './test-isp.js';

function parseError(contract: unknown): OperationOutcomeError {
  try {
    parseIspContract(contract);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected parseIspContract to refuse the ISP');
}

function expressionsOf(err: OperationOutcomeError): string[] {
  return err.outcome.issue.flatMap((i) => i.expression ?? []);
}

describe('buildIspContract / parseIspContract', () => {
  it('Round-trips partners, flows, review date and PIA reference', () => {
    const draft = testIspDraft();
    const doc = parseIspContract(buildIspContract(draft));
    expect(doc.id).toBe('isp-test');
    expect(doc.reviewDate).toBe('2027-01-31');
    expect(doc.appliesFrom).toBe('2026-02-01');
    expect(doc.piaReference).toEqual(draft.piaReference);
    expect(doc.partners.map((p) => p.agency)).toEqual(draft.partners.map((p) => p.agency));
    expect(doc.flows).toHaveLength(draft.flows.length);
    expect(doc.flows[0]).toMatchObject({ termIndex: 0, sender: 'social-work', receiver: 'emergency-department', categories: ['alert', 'np-lp-contact'] });
  });

  it('Declares purposes and data categories as the union of its flows (IM-L3)', () => {
    const doc = parseIspContract(testIspContract());
    expect(doc.purposes).toEqual(['identity-matching', 'child-wellbeing', 'child-protection']);
    expect(doc.categories).toEqual(['demographics', 'np-lp-contact', 'alert']);
  });

  it('Writes flows as terms with the isp-flow extension and the review date as applies.end', () => {
    const contract = testIspContract();
    expect(contract.applies?.end).toBe('2027-01-31');
    expect(contract.term![0]!.extension![0]!.url).toBe(Extensions.ispFlow);
    expect(contract.term![0]!.offer.text).toContain('social-work may share alert, np-lp-contact with emergency-department');
    expect(contract.legal![0]!.contentAttachment!.title).toBe('Privacy Impact Assessment');
  });

  it('Marks an ISP offered until every partner has signed', () => {
    expect(testIspContract().status).toBe('offered');
  });

  it('Ignores narrative terms that carry no flow', () => {
    const contract = testIspContract();
    const withNarrative: Contract = { ...contract, term: [...contract.term!, { offer: { text: 'Records are kept no longer than needed.' } }] };
    expect(parseIspContract(withNarrative).flows).toHaveLength(contract.term!.length);
  });

  it('Refuses a resource that is not a Contract with 422', () => {
    const err = parseError({ resourceType: 'Consent', id: 'x' });
    expect(err.status).toBe(422);
    expect(expressionsOf(err)).toEqual(['resourceType']);
  });

  it('Refuses an ISP without a review date or PIA reference, naming each element', () => {
    const contract = testIspContract();
    const err = parseError({ ...contract, applies: { start: '2026-02-01' }, legal: undefined });
    expect(err.status).toBe(422);
    expect(expressionsOf(err)).toEqual(expect.arrayContaining(['Contract.applies.end', 'Contract.legal[0].contentAttachment']));
  });

  it('Refuses a partner that is not an Organization reference', () => {
    const contract = testIspContract();
    const err = parseError({ ...contract, authority: [...contract.authority!, { reference: 'Practitioner/p1' }] });
    expect(expressionsOf(err)).toEqual([`Contract.authority[${contract.authority!.length}].reference`]);
  });

  it('Refuses a flow with an unknown agency type, category or purpose, pointing into the term', () => {
    const contract = testIspContract();
    const term = structuredClone(contract.term![1]!);
    term.extension![0]!.extension = [
      { url: 'sender', valueCode: 'social-work' },
      { url: 'receiver', valueCode: 'ambulance' },
      { url: 'category', valueCode: 'gossip' },
      { url: 'purpose', valueCode: 'curiosity' },
    ];
    const err = parseError({ ...contract, term: [contract.term![0]!, term] });
    const flow = `Contract.term[1].extension('${Extensions.ispFlow}')`;
    expect(expressionsOf(err)).toEqual([
      `${flow}.extension('receiver').value`,
      `${flow}.extension('category').value`,
      `${flow}.extension('purpose').value`,
    ]);
    expect(err.outcome.issue.map((i) => i.details?.text).join(' ')).toContain('Unknown data category "gossip"');
  });

  it('Refuses a review date that is not a FHIR date', () => {
    const contract = testIspContract();
    const err = parseError({ ...contract, applies: { end: '30/09/2027' } });
    expect(expressionsOf(err)).toEqual(['Contract.applies.end']);
  });
});
