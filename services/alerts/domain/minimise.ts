/**
 * Data minimisation: what one recipient receives of an accepted message,
 * under the ISP term that lets it receive the alert (its data categories).
 * Pure; the delivery worker and the inbox call it with the term the ISP check
 * of that attempt returned.
 *
 * - `alert` (every recipient: it is how the alert was routed): the Flag's
 *   status, category, coded detail, period, author; the subject as needed to
 *   act on it — CHI, name, birth date, sex — and nothing else of the Patient
 *   (no address, telecom or other agencies' identifiers).
 * - `np-lp-contact`: the NP/LP CareTeam (names, organisations, telecom). A
 *   recipient whose term does not list it gets no CareTeam.
 * - Free-text clinical detail (the Flag's `code.text` and narrative) only to
 *   agencies that provide care: NHS board, GP, A&E, out-of-hours, community
 *   nursing and social work. Police, fire & rescue, housing, education and the
 *   third sector get the coded alert only.
 * - The MessageHeader names the recipient and carries its sequence number
 *   (`Extensions.deliverySequence`) so it can see a gap.
 */
import type { Bundle, BundleEntry, Flag, MessageHeader, Patient, Resource } from 'fhir/r4.js';
import type { AgencyType, DataCategory } from '../../../shared/fhir/systems.js';
import { Extensions, IdentifierSystems } from '../../../shared/fhir/systems.js';

/** Agency types that receive free-text clinical detail. */
export const CLINICAL_DETAIL_RECEIVERS: readonly AgencyType[] = ['nhs-board', 'gp-cluster', 'emergency-department', 'out-of-hours', 'community-nursing', 'social-work'];

export interface RecipientView {
  readonly agencyId: string;
  readonly agencyType: AgencyType;
  /** The data categories the ISP term allowing this flow lists. */
  readonly categories: readonly DataCategory[];
  /** The recipient's sequence number of this message. */
  readonly seq: number;
}

/** The message as this recipient receives it. */
export function minimisedMessage(hubBundle: Bundle, recipient: RecipientView): Bundle {
  const withNpLp = recipient.categories.includes('np-lp-contact');
  const entry = (hubBundle.entry ?? []).flatMap((e): BundleEntry[] => {
    const resource = e.resource;
    if (!resource) return [];
    const cut = cutResource(resource, recipient, withNpLp);
    return cut ? [{ ...e, resource: cut }] : [];
  });
  return { ...hubBundle, entry };
}

/**
 * A message the hub wrote for this one recipient (a dead-letter report: nothing in it to minimise), addressed to it
 * with its sequence number as every delivered message is.
 */
export function addressedMessage(hubBundle: Bundle, recipient: Pick<RecipientView, 'agencyId' | 'seq'>): Bundle {
  const entry = (hubBundle.entry ?? []).map((e) => (e.resource?.resourceType === 'MessageHeader' ? { ...e, resource: headerFor(e.resource as MessageHeader, recipient) } : e));
  return { ...hubBundle, entry };
}

function cutResource(resource: Resource, recipient: RecipientView, withNpLp: boolean): Resource | undefined {
  switch (resource.resourceType) {
    case 'MessageHeader':
      return headerFor(resource as MessageHeader, recipient);
    case 'Flag':
      return flagFor(resource as Flag, recipient.agencyType);
    case 'Patient':
      return identityOnly(resource as Patient);
    case 'CareTeam':
      return withNpLp ? resource : undefined;
    case 'Provenance':
      return resource;
    default:
      // Nothing else is accepted into an alert message; anything unforeseen is not passed on.
      return undefined;
  }
}

function headerFor(header: MessageHeader, recipient: Pick<RecipientView, 'agencyId' | 'seq'>): MessageHeader {
  const organization = `Organization/${recipient.agencyId}`;
  return {
    ...header,
    extension: [...(header.extension ?? []).filter((x) => x.url !== Extensions.deliverySequence), { url: Extensions.deliverySequence, valueUnsignedInt: recipient.seq }],
    destination: [{ endpoint: organization, receiver: { reference: organization } }],
  };
}

/** The Flag as an agency of this type may see it: free-text detail only to agencies that provide care. */
export function flagFor(flag: Flag, agencyType: AgencyType): Flag {
  return CLINICAL_DETAIL_RECEIVERS.includes(agencyType) ? flag : codedOnly(flag);
}

function codedOnly(flag: Flag): Flag {
  const { text: _narrative, code, ...rest } = flag;
  const coded: Flag = { ...rest, code: { ...(code.coding ? { coding: code.coding } : {}) } };
  // A code with neither codings nor text is not valid R4: say it was withheld rather than send an empty one.
  if (!code.coding?.length) coded.code = { text: 'Detail withheld under the Information Sharing Protocol' };
  return coded;
}

function identityOnly(patient: Patient): Patient {
  const chi = (patient.identifier ?? []).filter((i) => i.system === IdentifierSystems.chi);
  return {
    resourceType: 'Patient',
    ...(patient.id ? { id: patient.id } : {}),
    ...(chi.length ? { identifier: chi } : {}),
    ...(patient.name ? { name: patient.name } : {}),
    ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
    ...(patient.gender ? { gender: patient.gender } : {}),
  };
}
