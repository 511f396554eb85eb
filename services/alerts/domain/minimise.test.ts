import type { CareTeam, Flag, MessageHeader, Patient } from 'fhir/r4.js';
import { agencyPatientSystem, CodeSystems, Extensions, IdentifierSystems } from '../../../shared/fhir/systems.js';
import { hubMessage, partsOf } from './alert-bundle.js';
import { minimisedMessage } from './minimise.js';

const flag: Flag = {
  resourceType: 'Flag',
  id: 'flag-1',
  status: 'active',
  category: [{ coding: [{ system: CodeSystems.alertCategory, code: 'fire-risk' }] }],
  code: { coding: [{ system: 'http://snomed.info/sct', code: '1', display: 'Fire risk' }], text: 'Uses oxygen at home; smokes' },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Uses oxygen at home</div>' },
  subject: { reference: 'Patient/p' },
};
const patient: Patient = {
  resourceType: 'Patient',
  id: 'p',
  identifier: [
    { system: agencyPatientSystem('edinburgh-housing'), value: 'H-9' },
    { system: IdentifierSystems.chi, value: '0101501234' },
  ],
  name: [{ family: 'Ritchie', given: ['Margaret'] }],
  birthDate: '1944-01-01',
  gender: 'female',
  address: [{ line: ['3 Bath Street'] }],
  telecom: [{ system: 'phone', value: '0131 000 0000' }],
};
const careTeam: CareTeam = { resourceType: 'CareTeam', id: 'ct', telecom: [{ system: 'phone', value: '0131 496 0999' }] };
const message = hubMessage({ messageId: 'msg-1', event: 'alert-raised', senderAgency: 'edinburgh-housing', baseUrl: 'http://hub/fhir', timestamp: '2026-12-06T00:00:00Z', flag, patient, careTeam });

describe('what a recipient receives', () => {
  it('gives fire & rescue the coded alert and who it is about, without clinical detail, address or other identifiers', () => {
    const cut = partsOf(minimisedMessage(message, { agencyId: 'sfrs-east', agencyType: 'fire-rescue', categories: ['alert', 'service-request'], seq: 7 }));
    expect(cut.flag?.code).toEqual({ coding: flag.code.coding });
    expect(cut.flag?.text).toBeUndefined();
    expect(cut.patient).toEqual({ resourceType: 'Patient', id: 'p', identifier: [{ system: IdentifierSystems.chi, value: '0101501234' }], name: patient.name, birthDate: '1944-01-01', gender: 'female' });
    expect(cut.careTeam).toBeUndefined();
  });

  it('gives social work the clinical detail and, where its term lists np-lp-contact, the NP/LP', () => {
    const cut = partsOf(minimisedMessage(message, { agencyId: 'edinburgh-social-work', agencyType: 'social-work', categories: ['alert', 'np-lp-contact'], seq: 1 }));
    expect(cut.flag).toEqual(flag);
    expect(cut.careTeam).toEqual(careTeam);
  });

  it('addresses the header to the recipient with its sequence number', () => {
    const header = partsOf(minimisedMessage(message, { agencyId: 'sfrs-east', agencyType: 'fire-rescue', categories: ['alert'], seq: 7 })).header as MessageHeader;
    expect(header.destination).toEqual([{ endpoint: 'Organization/sfrs-east', receiver: { reference: 'Organization/sfrs-east' } }]);
    expect(header.extension).toEqual([{ url: Extensions.deliverySequence, valueUnsignedInt: 7 }]);
    expect(header.id).toBe('msg-1');
  });

  it('says the detail was withheld rather than send an empty code', () => {
    const textOnly = hubMessage({ messageId: 'm', event: 'alert-raised', senderAgency: 'x', baseUrl: 'b', timestamp: 't', flag: { ...flag, code: { text: 'free text only' } }, patient });
    const cut = partsOf(minimisedMessage(textOnly, { agencyId: 'police-scotland-e-division', agencyType: 'police', categories: ['alert'], seq: 1 }));
    expect(cut.flag?.code.text).toContain('withheld');
    expect(JSON.stringify(cut)).not.toContain('free text only');
  });

  it('leaves the hub message itself untouched', () => {
    const before = JSON.stringify(message);
    minimisedMessage(message, { agencyId: 'sfrs-east', agencyType: 'fire-rescue', categories: ['alert'], seq: 1 });
    expect(JSON.stringify(message)).toBe(before);
    expect((message).entry).toHaveLength(4);
  });
});
