/**
 * A small ISP and key pairs for the ISP unit tests. Not demo fixtures: those
 * live in fixtures/partnership and are signed with the committed demo keys.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Contract } from 'fhir/r4.js';
import { buildIspContract, type IspDraft } from './contract.js';
import { applySignature, signIsp } from './signatures.js';
import type { FlowAgency } from './evaluator.js';

export const TEST_AGENCIES = {
  nhs: { id: 'test-nhs', type: 'nhs-board', partnership: 'test-hscp' },
  ed: { id: 'test-ed', type: 'emergency-department', partnership: 'test-hscp' },
  ooh: { id: 'test-ooh', type: 'out-of-hours', partnership: 'test-hscp' },
  socialWork: { id: 'test-sw', type: 'social-work', partnership: 'test-hscp' },
  education: { id: 'test-edu', type: 'education', partnership: 'test-hscp' },
  police: { id: 'test-police', type: 'police', partnership: 'test-hscp' },
  /** In another partnership and not a partner of the test ISP. */
  otherEd: { id: 'other-ed', type: 'emergency-department', partnership: 'other-hscp' },
} as const satisfies Record<string, FlowAgency>;

export const PARTNER_IDS = ['test-nhs', 'test-ed', 'test-ooh', 'test-sw', 'test-edu', 'test-police'] as const;

export function testIspDraft(): IspDraft {
  return {
    id: 'isp-test',
    identifier: { system: 'https://fhir.infoshare.scot/id/isp', value: 'ISP-TEST-1' },
    title: 'Test partnership ISP',
    issued: '2026-01-10',
    appliesFrom: '2026-02-01',
    reviewDate: '2027-01-31',
    piaReference: { title: 'Privacy Impact Assessment', url: 'https://example.org/pia/test.html', completed: '2026-01-05' },
    partners: PARTNER_IDS.map((agency) => ({ agency })),
    flows: [
      {
        sender: 'social-work',
        receiver: 'emergency-department',
        categories: ['alert', 'np-lp-contact'],
        purposes: ['child-protection'],
        crossPartnership: false,
      },
      { sender: 'social-work', receiver: 'out-of-hours', categories: ['alert', 'np-lp-contact'], purposes: ['child-protection'], crossPartnership: false },
      { sender: 'social-work', receiver: 'education', categories: ['alert', 'np-lp-contact'], purposes: ['child-wellbeing'], crossPartnership: false },
      { sender: 'police', receiver: 'social-work', categories: ['alert'], purposes: ['child-wellbeing', 'child-protection'], crossPartnership: false },
      { sender: 'nhs-board', receiver: 'social-work', categories: ['demographics'], purposes: ['identity-matching'], crossPartnership: false },
    ],
  };
}

export type TestKeys = Record<string, { privateKey: KeyObject; publicKey: KeyObject }>;

export function testKeys(agencies: readonly string[] = PARTNER_IDS): TestKeys {
  return Object.fromEntries(agencies.map((a) => [a, generateKeyPairSync('ec', { namedCurve: 'P-256' })]));
}

export function publicKeys(keys: TestKeys): Record<string, KeyObject> {
  return Object.fromEntries(Object.entries(keys).map(([a, k]) => [a, k.publicKey]));
}

/** The contract signed by each of `signers` (every partner by default). */
export function signedBy(contract: Contract, keys: TestKeys, signers: readonly string[] = PARTNER_IDS, now = new Date('2026-01-20T10:00:00Z')): Contract {
  let signed = contract;
  for (const agency of signers) {
    signed = applySignature(signed, signIsp(signed, agency, keys[agency]!.privateKey, { now }).signer);
  }
  return signed;
}

export function testIspContract(): Contract {
  return buildIspContract(testIspDraft());
}
