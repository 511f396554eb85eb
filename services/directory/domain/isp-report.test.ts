import type { Parameters } from 'fhir/r4.js';
import type { AgencyRecord } from '../../../shared/isp/agencies.js';
import { parseIspContract } from '../../../shared/isp/contract.js';
import { verifyIspSignatures } from '../../../shared/isp/signatures.js';
import { PARTNER_IDS, TEST_AGENCIES, publicKeys, signedBy, testIspContract, testKeys } from '../../../shared/isp/test-isp.js';
import { isCompactJws, ispCriteria, reviewDatePassed, verificationParameters } from './isp-report.js';

const keys = testKeys();
const now = new Date('2026-06-01T12:00:00Z');

function agencies(overrides: Partial<Record<string, Partial<AgencyRecord>>> = {}): Map<string, AgencyRecord> {
  return new Map(
    Object.values(TEST_AGENCIES).map((a) => [
      a.id,
      { id: a.id, type: a.type, partnership: a.partnership, active: true, patientIdentifierSystem: `urn:test:${a.id}`, ...overrides[a.id] },
    ]),
  );
}

function part(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

describe('ispCriteria', () => {
  it('Shows IM-L3 for any readable ISP, and IM-L4 only once every partner has signed the current content', () => {
    const unsigned = testIspContract();
    expect(ispCriteria(parseIspContract(unsigned), verifyIspSignatures(unsigned, publicKeys(keys)), agencies(), now)).toEqual(['IM-L3']);
    const partly = signedBy(unsigned, keys, PARTNER_IDS.slice(1));
    expect(ispCriteria(parseIspContract(partly), verifyIspSignatures(partly, publicKeys(keys)), agencies(), now)).toEqual(['IM-L3']);
    const signed = signedBy(unsigned, keys);
    expect(ispCriteria(parseIspContract(signed), verifyIspSignatures(signed, publicKeys(keys)), agencies(), now)).toEqual(['IM-L3', 'IM-L4']);
  });

  it('Shows IM-L5 when the signed ISP includes police and a second partnership and is within its review date', () => {
    const signed = signedBy(testIspContract(), keys);
    const isp = parseIspContract(signed);
    const verification = verifyIspSignatures(signed, publicKeys(keys));
    const twoPartnerships = agencies({ 'test-edu': { partnership: 'other-hscp' } });
    expect(ispCriteria(isp, verification, twoPartnerships, now)).toEqual(['IM-L3', 'IM-L4', 'IM-L5']);
    expect(ispCriteria(isp, verification, twoPartnerships, new Date('2027-02-01T00:00:00Z'))).toEqual(['IM-L3', 'IM-L4']);
    const noOtherAgency = agencies({ 'test-edu': { partnership: 'other-hscp' }, 'test-police': { type: 'nhs-board' } });
    expect(ispCriteria(isp, verification, noOtherAgency, now)).toEqual(['IM-L3', 'IM-L4']);
  });
});

describe('reviewDatePassed', () => {
  it('Counts the whole review day as before the review date', () => {
    const isp = parseIspContract(testIspContract());
    expect(reviewDatePassed(isp, new Date('2027-01-31T23:59:59Z'))).toBe(false);
    expect(reviewDatePassed(isp, new Date('2027-02-01T00:00:00Z'))).toBe(true);
  });
});

describe('verificationParameters', () => {
  it('Reports each partner signed/valid with the reason, then allSigned and the review date', () => {
    const contract = signedBy(testIspContract(), keys, PARTNER_IDS.slice(1));
    const result = verificationParameters(parseIspContract(contract), verifyIspSignatures(contract, publicKeys(keys)), now);
    const partners = result.parameter!.filter((p) => p.name === 'partner');
    expect(partners).toHaveLength(PARTNER_IDS.length);
    const first = partners[0]!.part!;
    expect(first.find((p) => p.name === 'agency')?.valueReference?.reference).toBe(`Organization/${PARTNER_IDS[0]}`);
    expect(first.find((p) => p.name === 'signed')?.valueBoolean).toBe(false);
    expect(first.find((p) => p.name === 'reason')?.valueCode).toBe('not-signed');
    expect(partners[1]!.part!.find((p) => p.name === 'valid')?.valueBoolean).toBe(true);
    expect(part(result, 'allSigned')?.valueBoolean).toBe(false);
    expect(part(result, 'reviewDate')?.valueDateTime).toBe('2027-01-31');
    expect(part(result, 'reviewDatePassed')?.valueBoolean).toBe(false);
  });
});

describe('isCompactJws', () => {
  it('Accepts three base64url parts and nothing else', () => {
    expect(isCompactJws('eyJhbGciOiJFUzI1NiJ9.eyJpc3AiOiJ4In0.c2ln')).toBe(true);
    expect(isCompactJws('not a jws')).toBe(false);
    expect(isCompactJws('a.b')).toBe(false);
    expect(isCompactJws('a.b.c\n')).toBe(false);
  });
});
