/**
 * The audit vocabulary: the fixed parts of the hub's AuditEvents — codings with their systems and
 * displays, agent types, the hub service's own agent and the event's source per service, the maturity
 * criteria extensions, purpose-of-event and data-category labels — each as its canonical JSON. A
 * layout 4 entry (`audit-entry.ts`) stores its event with each such part written as a reference,
 * `{"#":n}`: fragment n of this list. Expanding the references (`expandStoredEvent`) gives the event's
 * canonical JSON byte for byte — the FHIR AuditEvent every reader answers, the same as a layout 3 entry
 * stores in full.
 *
 * Unambiguous: `{"#":` never occurs in canonical JSON otherwise — inside a JSON string every `"` is
 * escaped, and no FHIR element name begins with `#`. The fragments hold no references.
 *
 * Versioned, append-only: fragment n means the same in every version, for ever (an entry's leaf covers
 * its references, so a changed fragment would change what a signed entry says). A changed coding is a
 * new fragment appended, in a new version; the old one stays for the entries that name it. Version v
 * is the first `VERSION_SIZES[v - 1]` fragments; its document (`vocabularyDocument`) — what an auditor
 * expands with — is `{"fragments":[…],"version":v}`, and its SHA-256 is pinned by vocabulary.test.ts.
 *
 * Pure, and imports nothing: the verification thread loads it with the entry layout.
 */

/** Fragments in each version, in order: a version appends to the one before. */
const VERSION_SIZES = [172] as const;
export const AUDIT_VOCABULARY_VERSION = VERSION_SIZES.length;

/** Version 1 (2026-12-06, session 18): every fixed part the event builder wrote then (`fixedPartsOfEvents`). */
export const AUDIT_VOCABULARY: readonly string[] = [
  '{"code":"rest","display":"Restful Operation","system":"http://terminology.hl7.org/CodeSystem/audit-event-type"}',
  '{"code":"110114","display":"User Authentication","system":"http://dicom.nema.org/resources/ontology/DCM"}',
  '{"code":"110113","display":"Security Alert","system":"http://dicom.nema.org/resources/ontology/DCM"}',
  '{"code":"110106","display":"Export","system":"http://dicom.nema.org/resources/ontology/DCM"}',
  '{"code":"transmit","display":"Transmit Record Lifecycle Event","system":"http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"}',
  '{"code":"disclose","display":"Disclose Record Lifecycle Event","system":"http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"}',
  '{"code":"read","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"vread","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"update","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"patch","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"delete","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"history","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"history-instance","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"history-type","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"history-system","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"create","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"search","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"search-type","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"search-system","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"capabilities","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"transaction","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"batch","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"operation","system":"http://hl7.org/fhir/restful-interaction"}',
  '{"code":"AuthZ-Consent","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"}',
  '{"code":"AuthZ-Role","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"}',
  '{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]}',
  '{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]}',
  '{"coding":[{"code":"110150","display":"Application","system":"http://dicom.nema.org/resources/ontology/DCM"}]}',
  '{"coding":[{"code":"IRCP","display":"information recipient","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]}',
  '{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]}',
  '{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]}',
  '{"code":"1","display":"Person","system":"http://terminology.hl7.org/CodeSystem/audit-entity-type"}',
  '{"code":"2","display":"System Object","system":"http://terminology.hl7.org/CodeSystem/audit-entity-type"}',
  '{"code":"XrequestId","display":"X-Request-Id","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"}',
  '{"code":"1","display":"Patient","system":"http://terminology.hl7.org/CodeSystem/object-role"}',
  '{"code":"3","display":"Report","system":"http://terminology.hl7.org/CodeSystem/object-role"}',
  '{"code":"4","display":"Domain Resource","system":"http://terminology.hl7.org/CodeSystem/object-role"}',
  '{"code":"24","display":"Query","system":"http://terminology.hl7.org/CodeSystem/object-role"}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"AuthzOauthService","display":"OAuth Authorization Server","system":"https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"}]},"who":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"authserver","display":"authorization server","system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type"}]},"who":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110153","display":"Source Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}}}',
  '{"requestor":false,"type":{"coding":[{"code":"110152","display":"Destination Role ID","system":"http://dicom.nema.org/resources/ontology/DCM"}]},"who":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}}}',
  '{"observer":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare directory","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"directory"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare mpi","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"mpi"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare alerts","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"alerts"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare plans","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"plans"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare audit","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"audit"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}},"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"observer":{"display":"infoshare agency-sim","identifier":{"system":"https://fhir.infoshare.scot/id/service","value":"agency-sim"}},"type":[{"code":"6","display":"Security Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"IM-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"IM-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"IM-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"IM-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"IM-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"GV-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"GV-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"GV-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"GV-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"GV-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"TR-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"TR-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"TR-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"TR-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"TR-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PC-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PC-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PC-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PC-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PC-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"AP-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"AP-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"AP-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"AP-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"AP-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PD-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PD-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PD-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PD-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"PD-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MA-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MA-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MA-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MA-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MA-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MI-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MI-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MI-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MI-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"MI-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"SI-L1","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"SI-L2","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"SI-L3","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"SI-L4","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '{"url":"https://fhir.infoshare.scot/StructureDefinition/maturity-criterion","valueCoding":{"code":"SI-L5","system":"https://fhir.infoshare.scot/CodeSystem/maturity-criterion"}}',
  '[{"coding":[{"code":"identity-matching","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"child-wellbeing","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"child-protection","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"adult-support-protection","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"direct-care","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"emergency-care","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '[{"coding":[{"code":"care-planning","system":"https://fhir.infoshare.scot/CodeSystem/purpose-of-use"}]}]',
  '{"code":"$process-message","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$process-message (acknowledgement)","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$process-message (repeat)","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$process-message (forwarded)","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"deliver","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"received","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"pull","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"token","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$match","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$inbox","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$delivery-status","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$chronology","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"consent-check","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$accesses","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"$peer-read","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"code":"jwks","system":"https://fhir.infoshare.scot/CodeSystem/operation"}',
  '{"type":"method","valueString":"GET"}',
  '{"type":"method","valueString":"POST"}',
  '{"type":"method","valueString":"PUT"}',
  '{"type":"method","valueString":"DELETE"}',
  '{"type":"method","valueString":"PATCH"}',
  '{"type":"status","valueString":"200"}',
  '{"type":"status","valueString":"201"}',
  '{"type":"status","valueString":"202"}',
  '{"type":"status","valueString":"204"}',
  '{"type":"status","valueString":"304"}',
  '{"type":"status","valueString":"400"}',
  '{"type":"status","valueString":"401"}',
  '{"type":"status","valueString":"403"}',
  '{"type":"status","valueString":"404"}',
  '{"type":"status","valueString":"409"}',
  '{"type":"status","valueString":"412"}',
  '{"type":"status","valueString":"422"}',
  '{"type":"trigger","valueString":"job"}',
  '{"type":"trigger","valueString":"schedule"}',
  '{"type":"trigger","valueString":"outbound"}',
  '{"type":"trigger","valueString":"change"}',
  '{"type":"trigger","valueString":"decision"}',
  '[{"code":"demographics","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"np-lp-contact","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"alert","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"plan","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"assessment","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"chronology","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"service-request","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
  '[{"code":"consent","system":"https://fhir.infoshare.scot/CodeSystem/data-category"}]',
];

const INDEX = new Map(AUDIT_VOCABULARY.map((text, n) => [text, n]));
const REFERENCES = AUDIT_VOCABULARY.map((_, n) => Object.freeze({ '#': n }));

/** How a reference begins in a stored event: `{"#":` then the fragment's number and `}`. */
export const REFERENCE_OPEN = '{"#":';

/** The reference a stored event writes for this canonical JSON, or undefined when the vocabulary lacks it. */
export function vocabularyReference(text: string): { readonly '#': number } | undefined {
  const n = INDEX.get(text);
  return n === undefined ? undefined : REFERENCES[n];
}

/**
 * A stored event's canonical JSON with every reference replaced by its fragment: the event's full
 * canonical JSON. Throws on a reference the vocabulary does not hold (or not written `{"#":n}`).
 */
export function expandStoredEvent(stored: string): string {
  let at = stored.indexOf(REFERENCE_OPEN);
  if (at < 0) return stored;
  let expanded = '';
  let from = 0;
  while (at >= 0) {
    let end = at + REFERENCE_OPEN.length;
    let n = 0;
    const first = end;
    for (let c = stored.charCodeAt(end); c >= 0x30 && c <= 0x39; c = stored.charCodeAt(++end)) n = n * 10 + (c - 0x30);
    const fragment = AUDIT_VOCABULARY[n];
    // Digits, no leading zero, then the closing brace: the one way a reference is written.
    if (end === first || (stored[first] === '0' && end > first + 1) || stored[end] !== '}' || fragment === undefined) {
      throw new Error(`Stored audit event has a reference the audit vocabulary (version ${AUDIT_VOCABULARY_VERSION}) does not hold, at ${at}`);
    }
    expanded += stored.slice(from, at) + fragment;
    from = end + 1;
    at = stored.indexOf(REFERENCE_OPEN, from);
  }
  return expanded + stored.slice(from);
}

/** Version `version`'s document: `{"fragments":[…],"version":n}`, canonical JSON — what `GET /log/vocabulary` serves. */
export function vocabularyDocument(version: number = AUDIT_VOCABULARY_VERSION): string {
  const size = VERSION_SIZES[version - 1];
  if (size === undefined) throw new RangeError(`No audit vocabulary version ${version} (1-${AUDIT_VOCABULARY_VERSION})`);
  return `{"fragments":[${AUDIT_VOCABULARY.slice(0, size).join(',')}],"version":${version}}`;
}
