/**
 * Documentary evidence: what an auditor attaches to a cell no exchange can show (governance,
 * training, the documentary levels of other areas) — a FHIR DocumentReference naming the
 * criterion, a title, a date and who attested it. Pure: reads and checks the resource.
 *
 *   {
 *     "resourceType": "DocumentReference", "status": "current",
 *     "category": [{ "coding": [{ "system": "https://fhir.infoshare.scot/CodeSystem/maturity-criterion", "code": "GV-L3" }] }],
 *     "description": "Information sharing board terms of reference, signed",
 *     "date": "2026-11-30T00:00:00Z",
 *     "authenticator": { "display": "J. Smith, Chief Officer, Lothian HSCP" },
 *     "content": [{ "attachment": { "url": "https://…/tor.pdf", "title": "Terms of reference" } }]
 *   }
 *
 * A criterion the log can show is refused (422): its evidence is exchanges, not a document.
 */
import type { DocumentReference } from 'fhir/r4.js';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';
import { criterion, isCriterionCode } from '../../../shared/maturity/catalogue.js';
import type { DocumentaryEvidence } from './evidence-report.js';

export function documentaryEvidenceOf(resource: DocumentReference, id: string): DocumentaryEvidence {
  const codes = (resource.category ?? []).flatMap((c) => c.coding ?? []).filter((c) => c.system === CodeSystems.maturityCriterion);
  if (codes.length !== 1 || !codes[0]?.code) {
    throw unprocessable(`Documentary evidence names exactly one maturity criterion in category (system ${CodeSystems.maturityCriterion})`, 'DocumentReference.category');
  }
  const code = codes[0].code;
  if (!isCriterionCode(code)) throw unprocessable(`'${code.slice(0, 50)}' is not a maturity criterion code`, 'DocumentReference.category');
  if (criterion(code).evidence !== 'documentary') {
    throw unprocessable(`${code} is shown by the hub's exchanges, not by documents: its evidence comes from the log`, 'DocumentReference.category');
  }
  const attachment = resource.content?.[0]?.attachment;
  const title = (resource.description ?? attachment?.title ?? '').trim();
  if (!title) throw unprocessable('Documentary evidence needs a title (description or content.attachment.title)', 'DocumentReference.description');
  const date = resource.date ?? attachment?.creation;
  if (!date) throw unprocessable('Documentary evidence needs the date it was issued or attested (date)', 'DocumentReference.date');
  const attestedBy = resource.authenticator?.display?.trim() ?? '';
  if (!attestedBy) throw unprocessable('Documentary evidence needs who attested it (authenticator.display)', 'DocumentReference.authenticator');
  return { id, criterion: code, title, date, attestedBy, ...(attachment?.url ? { url: attachment.url } : {}) };
}
