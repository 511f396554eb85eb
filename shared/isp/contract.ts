/**
 * The Information Sharing Protocol (ISP) as a FHIR R4 Contract, and the
 * domain type the rest of the hub reasons about.
 *
 * Representation (every service and fixture relies on it):
 * - `id` e.g. `isp-lothian`; `identifier`; `title`; `issued`.
 * - `applies.start`: the ISP is in force from then (optional).
 * - `applies.end`: the **review date**. After it, every flow is refused until
 *   the partners review the ISP, move the date and sign again. Partial dates
 *   cover their whole span (see `dates.ts`): "2027-09-30" allows flows
 *   through the end of that day.
 * - `legal[0].contentAttachment`: the Privacy Impact Assessment reference
 *   (`title`, `url`, optional `creation`). Being content, it is covered by
 *   every partner's signature (IM-L4: "the ISP and its PIA … signed by all").
 * - `authority[]`: the partners, one `Organization/<agency id>` reference each
 *   (agencies, not partnerships: each partner signs with its own key). An ISP
 *   whose partners come from two partnerships is a cross-boundary ISP.
 * - `term[]`: the allowed flows. A term carrying the `Extensions.ispFlow`
 *   extension is one flow, with sub-extensions
 *     `sender` (valueCode, agency type, exactly one),
 *     `receiver` (valueCode, agency type, exactly one),
 *     `category` (valueCode from DATA_CATEGORIES, one or more),
 *     `purpose` (valueCode from PURPOSES, one or more),
 *     `crossPartnership` (valueBoolean, optional, default false).
 *   A flow is allowed for any listed category combined with any listed
 *   purpose, so a term groups only combinations that all make sense.
 *   `crossPartnership: true` lets the flow also run between partners in
 *   different partnerships (MA-L5 / IM-L5); without it the sender and the
 *   receiver must share a partnership. Terms without the extension are
 *   narrative (obligations, retention…) and never allow a flow, so a
 *   mistyped extension URL fails safe. R4 requires `term.offer`; its `text`
 *   says the flow in words.
 * - Purposes and data categories are declared by the flows only: the ISP's
 *   purposes and categories are the union over its terms. One place to
 *   declare them means they can never disagree with what is allowed.
 * - `signer[]`: one per partner — `type` ASTM E1762 Approval, `party` the
 *   partner Organization, `signature[0]` with `when`, `who` (the same
 *   Organization), `sigFormat: application/jose` and `data` = base64 of a
 *   compact ES256 JWS by the partner's registered key over
 *   `{ isp, digest, iat }` (`signatures.ts`, `canonical.ts`).
 * - `status`: a hint for people reading the resource — `executed` once every
 *   partner has a signer entry, `offered` before. It is not signed and never
 *   trusted: whether the ISP is in force is decided by verifying every
 *   signature against the current content (`verifyIspSignatures`).
 */
import type { Contract, ContractSigner, ContractTerm, Extension, OperationOutcomeIssue } from 'fhir/r4.js';
import { invalidIssues, outcome } from '../fhir/outcome.js';
import {
  AGENCY_TYPES,
  DATA_CATEGORIES,
  Extensions,
  CodeSystems,
  PURPOSES,
  type AgencyType,
  type DataCategory,
  type Purpose,
} from '../fhir/systems.js';
import { fhirDateSpan } from './dates.js';

/** ASTM E1762 signature type "Approval": the partner approves the ISP. */
export const APPROVAL_SIGNATURE_TYPE = {
  system: 'urn:iso-astm:E1762-95:2013',
  code: '1.2.840.10065.1.12.1.6',
  display: 'Approval Signature',
} as const;

/** `Contract.signer.signature.sigFormat` of an ISP signature: a compact JWS. */
export const ISP_SIGNATURE_FORMAT = 'application/jose';

/** FHIR Contract type of an ISP: an agreement to disclose information. */
const CONTRACT_TYPE_DISCLOSURE = {
  system: 'http://terminology.hl7.org/CodeSystem/contract-type',
  code: 'disclosure',
  display: 'Disclosure',
} as const;

/** Sub-extension names of `Extensions.ispFlow`. */
const FLOW_PART = {
  sender: 'sender',
  receiver: 'receiver',
  category: 'category',
  purpose: 'purpose',
  crossPartnership: 'crossPartnership',
} as const;

/** Agency types that can send or receive (a partnership itself is never a flow end). */
export type FlowAgencyType = Exclude<AgencyType, 'partnership'>;

export interface IspPartner {
  /** The agency's Organization id. */
  readonly agency: string;
  readonly name?: string;
}

export interface IspFlow {
  /** Position in `Contract.term`, for messages and audit (`Contract.term[n]`). */
  readonly termIndex: number;
  readonly sender: FlowAgencyType;
  readonly receiver: FlowAgencyType;
  readonly categories: readonly DataCategory[];
  readonly purposes: readonly Purpose[];
  /** Also allowed between partners of different partnerships. */
  readonly crossPartnership: boolean;
  /** The flow in words (`term.offer.text`). */
  readonly description?: string;
}

export interface PiaReference {
  readonly title: string;
  readonly url: string;
  /** When the PIA was completed (`Attachment.creation`). */
  readonly completed?: string;
}

export interface IspSignature {
  readonly agency: string;
  readonly when: string;
  readonly sigFormat?: string;
  /** The compact JWS (decoded from `signature.data`). */
  readonly jws: string;
  /** `signature.who` as written, to check it names the signing partner. */
  readonly who?: string;
}

export interface IspDocument {
  readonly id: string;
  readonly identifier?: { readonly system?: string; readonly value: string };
  readonly title: string;
  /** `Contract.status` as stored: a hint, never trusted (see the module comment). */
  readonly status?: Contract['status'];
  readonly issued?: string;
  /** `applies.start`: in force from (FHIR date/dateTime). */
  readonly appliesFrom?: string;
  /** `applies.end`: flows are refused after it (FHIR date/dateTime, inclusive of its span). */
  readonly reviewDate: string;
  readonly piaReference: PiaReference;
  readonly partners: readonly IspPartner[];
  readonly flows: readonly IspFlow[];
  /** Union of the flows' purposes, in PURPOSES order. */
  readonly purposes: readonly Purpose[];
  /** Union of the flows' categories, in DATA_CATEGORIES order. */
  readonly categories: readonly DataCategory[];
  readonly signatures: readonly IspSignature[];
}

/** What `buildIspContract` needs: the document without what it derives. */
export type IspDraft = Omit<IspDocument, 'purposes' | 'categories' | 'status' | 'signatures' | 'flows'> & {
  readonly flows: readonly Omit<IspFlow, 'termIndex'>[];
  readonly signatures?: readonly IspSignature[];
};

const ORGANIZATION_REFERENCE = /^Organization\/([A-Za-z0-9\-.]{1,64})$/;

/** The agency id in an `Organization/<id>` reference, or undefined. */
export function agencyIdOf(reference: string | undefined): string | undefined {
  return reference === undefined ? undefined : ORGANIZATION_REFERENCE.exec(reference)?.[1];
}

/**
 * Reads an ISP Contract into the domain type. Every problem is reported at
 * once, as a 422 OperationOutcome with the FHIRPath of each offending element.
 */
export function parseIspContract(contract: unknown): IspDocument {
  const problems: OperationOutcomeIssue[] = [];
  const problem = (text: string, expression: string): void => {
    problems.push(...outcome('invalid', text, { expression: [expression] }).issue);
  };

  if (typeof contract !== 'object' || contract === null || (contract as { resourceType?: unknown }).resourceType !== 'Contract') {
    throw invalidIssues(outcome('invalid', 'An ISP must be a FHIR Contract', { expression: ['resourceType'] }).issue);
  }
  const c = contract as Contract;

  if (typeof c.id !== 'string' || c.id === '') problem('An ISP needs an id', 'Contract.id');
  if (typeof c.title !== 'string' || c.title.trim() === '') problem('An ISP needs a title', 'Contract.title');

  const appliesFrom = c.applies?.start;
  if (appliesFrom !== undefined && !fhirDateSpan(appliesFrom)) {
    problem(`applies.start "${appliesFrom}" is not a FHIR dateTime`, 'Contract.applies.start');
  }
  const reviewDate = c.applies?.end;
  if (reviewDate === undefined) {
    problem('An ISP needs a review date (applies.end)', 'Contract.applies.end');
  } else if (!fhirDateSpan(reviewDate)) {
    problem(`Review date "${reviewDate}" is not a FHIR dateTime`, 'Contract.applies.end');
  } else if (appliesFrom !== undefined && fhirDateSpan(appliesFrom) && fhirDateSpan(appliesFrom)!.start >= fhirDateSpan(reviewDate)!.end) {
    problem('The review date is before the ISP comes into force', 'Contract.applies.end');
  }

  const piaReference = parsePia(c, problem);
  const partners = parsePartners(c, problem);
  const flows = parseFlows(c, problem);
  const signatures = parseSigners(c, problem);

  if (problems.length > 0) throw invalidIssues(problems);

  const identifier = c.identifier?.[0];
  return {
    id: c.id!,
    ...(identifier?.value ? { identifier: { value: identifier.value, ...(identifier.system ? { system: identifier.system } : {}) } } : {}),
    title: c.title!,
    ...(c.status ? { status: c.status } : {}),
    ...(c.issued ? { issued: c.issued } : {}),
    ...(appliesFrom ? { appliesFrom } : {}),
    reviewDate: reviewDate!,
    piaReference: piaReference!,
    partners,
    flows,
    purposes: PURPOSES.filter((p) => flows.some((f) => f.purposes.includes(p))),
    categories: DATA_CATEGORIES.filter((cat) => flows.some((f) => f.categories.includes(cat))),
    signatures,
  };
}

type Problem = (text: string, expression: string) => void;

function parsePia(c: Contract, problem: Problem): PiaReference | undefined {
  const attachment = c.legal?.[0]?.contentAttachment;
  if (!attachment) {
    problem('An ISP needs its Privacy Impact Assessment reference in legal[0].contentAttachment', 'Contract.legal[0].contentAttachment');
    return undefined;
  }
  if (!attachment.url) {
    problem('The Privacy Impact Assessment reference needs a url', 'Contract.legal[0].contentAttachment.url');
    return undefined;
  }
  return {
    title: attachment.title ?? 'Privacy Impact Assessment',
    url: attachment.url,
    ...(attachment.creation ? { completed: attachment.creation } : {}),
  };
}

function parsePartners(c: Contract, problem: Problem): IspPartner[] {
  const partners: IspPartner[] = [];
  (c.authority ?? []).forEach((ref, i) => {
    const agency = agencyIdOf(ref.reference);
    if (!agency) {
      problem('Each partner must be an Organization/<agency id> reference', `Contract.authority[${i}].reference`);
    } else if (partners.some((p) => p.agency === agency)) {
      problem(`Partner ${agency} is listed twice`, `Contract.authority[${i}]`);
    } else {
      partners.push({ agency, ...(ref.display ? { name: ref.display } : {}) });
    }
  });
  if ((c.authority ?? []).length < 2) {
    problem('An ISP needs at least two partners (authority)', 'Contract.authority');
  }
  return partners;
}

function parseFlows(c: Contract, problem: Problem): IspFlow[] {
  const flows: IspFlow[] = [];
  (c.term ?? []).forEach((term, termIndex) => {
    const flowExtensions = (term.extension ?? []).filter((e) => e.url === Extensions.ispFlow);
    if (flowExtensions.length === 0) return; // a narrative term
    const path = `Contract.term[${termIndex}].extension('${Extensions.ispFlow}')`;
    if (flowExtensions.length > 1) {
      problem('A term carries one flow; split it into one term per flow', path);
      return;
    }
    const parts = flowExtensions[0]!.extension ?? [];
    const codes = (name: string): unknown[] => parts.filter((p) => p.url === name).map((p) => p.valueCode);

    const ends: Partial<Record<'sender' | 'receiver', FlowAgencyType>> = {};
    for (const end of ['sender', 'receiver'] as const) {
      const values = codes(FLOW_PART[end]);
      if (values.length !== 1 || !isFlowAgencyType(values[0])) {
        problem(
          `A flow needs exactly one ${end} agency type (one of ${FLOW_AGENCY_TYPES.join(', ')})`,
          `${path}.extension('${FLOW_PART[end]}').value`,
        );
      } else {
        ends[end] = values[0];
      }
    }
    const categories = codes(FLOW_PART.category);
    const badCategory = categories.find((v) => !(DATA_CATEGORIES as readonly unknown[]).includes(v));
    if (categories.length === 0 || badCategory !== undefined) {
      problem(
        badCategory === undefined ? 'A flow needs at least one data category' : `Unknown data category ${JSON.stringify(badCategory)} (one of ${DATA_CATEGORIES.join(', ')})`,
        `${path}.extension('${FLOW_PART.category}').value`,
      );
    }
    const purposes = codes(FLOW_PART.purpose);
    const badPurpose = purposes.find((v) => !(PURPOSES as readonly unknown[]).includes(v));
    if (purposes.length === 0 || badPurpose !== undefined) {
      problem(
        badPurpose === undefined ? 'A flow needs at least one purpose' : `Unknown purpose ${JSON.stringify(badPurpose)} (one of ${PURPOSES.join(', ')})`,
        `${path}.extension('${FLOW_PART.purpose}').value`,
      );
    }
    const cross = parts.filter((p) => p.url === FLOW_PART.crossPartnership);
    if (cross.length > 1 || (cross.length === 1 && typeof cross[0]!.valueBoolean !== 'boolean')) {
      problem('crossPartnership is at most one valueBoolean', `${path}.extension('${FLOW_PART.crossPartnership}').value`);
    }
    if (!ends.sender || !ends.receiver || categories.length === 0 || badCategory !== undefined || purposes.length === 0 || badPurpose !== undefined) {
      return;
    }
    flows.push({
      termIndex,
      sender: ends.sender,
      receiver: ends.receiver,
      categories: unique(categories as DataCategory[]),
      purposes: unique(purposes as Purpose[]),
      crossPartnership: cross[0]?.valueBoolean === true,
      ...(term.offer?.text ? { description: term.offer.text } : {}),
    });
  });
  return flows;
}

function parseSigners(c: Contract, problem: Problem): IspSignature[] {
  const signatures: IspSignature[] = [];
  (c.signer ?? []).forEach((signer, i) => {
    const agency = agencyIdOf(signer.party?.reference);
    if (!agency) {
      problem('A signer party must be an Organization/<agency id> reference', `Contract.signer[${i}].party.reference`);
      return;
    }
    const signature = signer.signature?.[0];
    if (!signature?.data || !signature.when) {
      problem('A signer needs a signature with when and data', `Contract.signer[${i}].signature[0]`);
      return;
    }
    signatures.push({
      agency,
      when: signature.when,
      jws: Buffer.from(signature.data, 'base64').toString('utf8'),
      ...(signature.sigFormat ? { sigFormat: signature.sigFormat } : {}),
      ...(signature.who?.reference ? { who: signature.who.reference } : {}),
    });
  });
  return signatures;
}

const FLOW_AGENCY_TYPES = AGENCY_TYPES.filter((t): t is FlowAgencyType => t !== 'partnership');

function isFlowAgencyType(value: unknown): value is FlowAgencyType {
  return (FLOW_AGENCY_TYPES as readonly unknown[]).includes(value);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** Writes the domain document as the ISP Contract (the inverse of `parseIspContract`). */
export function buildIspContract(doc: IspDraft): Contract {
  const signers = (doc.signatures ?? []).map(signerEntry);
  const contract: Contract = {
    resourceType: 'Contract',
    id: doc.id,
    ...(doc.identifier ? { identifier: [{ ...doc.identifier }] } : {}),
    status: statusFor(
      doc.partners.map((p) => p.agency),
      signers,
    ),
    title: doc.title,
    type: { coding: [{ ...CONTRACT_TYPE_DISCLOSURE }], text: 'Information Sharing Protocol' },
    ...(doc.issued ? { issued: doc.issued } : {}),
    applies: { ...(doc.appliesFrom ? { start: doc.appliesFrom } : {}), end: doc.reviewDate },
    authority: doc.partners.map((p) => ({ reference: `Organization/${p.agency}`, ...(p.name ? { display: p.name } : {}) })),
    term: doc.flows.map(flowTerm),
    legal: [
      {
        contentAttachment: {
          contentType: 'text/html',
          title: doc.piaReference.title,
          url: doc.piaReference.url,
          ...(doc.piaReference.completed ? { creation: doc.piaReference.completed } : {}),
        },
      },
    ],
  };
  if (signers.length > 0) contract.signer = signers;
  return contract;
}

function flowTerm(flow: Omit<IspFlow, 'termIndex'>): ContractTerm {
  const parts: Extension[] = [
    { url: FLOW_PART.sender, valueCode: flow.sender },
    { url: FLOW_PART.receiver, valueCode: flow.receiver },
    ...flow.categories.map((code) => ({ url: FLOW_PART.category, valueCode: code })),
    ...flow.purposes.map((code) => ({ url: FLOW_PART.purpose, valueCode: code })),
  ];
  if (flow.crossPartnership) parts.push({ url: FLOW_PART.crossPartnership, valueBoolean: true });
  return {
    extension: [{ url: Extensions.ispFlow, extension: parts }],
    type: { coding: [{ system: CodeSystems.ispTerm, code: 'flow', display: 'Allowed data flow' }] },
    offer: { text: flow.description ?? describeFlow(flow) },
  };
}

/** A flow in words, for `term.offer.text` when the author gave none. */
export function describeFlow(flow: Pick<IspFlow, 'sender' | 'receiver' | 'categories' | 'purposes' | 'crossPartnership'>): string {
  const across = flow.crossPartnership ? ', including across partnership boundaries' : '';
  return `${flow.sender} may share ${flow.categories.join(', ')} with ${flow.receiver} for ${flow.purposes.join(', ')}${across}`;
}

/** A `Contract.signer` entry for one partner's signature. */
export function signerEntry(signature: IspSignature): ContractSigner {
  const party = { reference: `Organization/${signature.agency}` };
  return {
    type: { ...APPROVAL_SIGNATURE_TYPE },
    party,
    signature: [
      {
        type: [{ ...APPROVAL_SIGNATURE_TYPE }],
        when: signature.when,
        who: { reference: signature.who ?? party.reference },
        sigFormat: signature.sigFormat ?? ISP_SIGNATURE_FORMAT,
        data: Buffer.from(signature.jws, 'utf8').toString('base64'),
      },
    ],
  };
}

/** `executed` once every partner has a signer entry, `offered` before (a hint only). */
export function statusFor(partners: readonly string[], signers: readonly ContractSigner[]): 'executed' | 'offered' {
  const signed = new Set(signers.map((s) => agencyIdOf(s.party?.reference)));
  return partners.every((p) => signed.has(p)) ? 'executed' : 'offered';
}
