import fc from 'fast-check';
import { canonicalJson } from '../canonical-json.js';
import { SERVICE_NAMES } from '../config.js';
import { criteriaOfEvent, fixedPartsOfEvents, storedAuditEntry, toAuditEntry, toAuditEvent } from './audit-event.js';
import { entryArgs, eventOfEntry, fullEventText, parseAuditEntry } from './audit-entry.js';
import type { ExchangeEntity, ExchangeRecord } from './exchange.js';
import { CodeSystems, DATA_CATEGORIES, Extensions, IdentifierSystems, PURPOSES } from '../fhir/systems.js';
import { vocabularyReference } from './vocabulary.js';

const DCM = CodeSystems.dicomAuditEventId;
const RECORDED = '2026-03-02T10:15:00.000Z';

const hub = (service: string) => ({
  identifier: { system: IdentifierSystems.hubService, value: service },
  display: `infoshare ${service}`,
});

function exchange(overrides: Partial<ExchangeRecord>): ExchangeRecord {
  return {
    requestId: 'req-1',
    service: 'mpi',
    type: 'rest',
    subtype: 'read',
    action: 'R',
    outcome: '0',
    httpStatus: 200,
    method: 'GET',
    path: '/fhir/Patient/p1',
    agent: {},
    entities: [],
    criteria: [],
    recorded: RECORDED,
    ...overrides,
  };
}

describe('toAuditEvent', () => {
  it('records a successful search as a BALP RESTful query with agents, subject, raw query, purpose, category and criteria', () => {
    const event = toAuditEvent(
      exchange({
        subtype: 'search-type',
        action: 'E',
        path: '/fhir/CareTeam',
        agent: {
          clientId: 'nhs-lothian-ehr',
          agency: 'nhs-lothian',
          partnership: 'lothian',
          practitionerRole: 'PractitionerRole/pr-7',
        },
        sourceAddress: '10.0.0.5',
        subject: 'Patient/p1',
        entities: [{ reference: 'CareTeam?subject=Patient/p1', role: 'query' }],
        dataCategory: 'np-lp-contact',
        purpose: 'child-wellbeing',
        criteria: ['PD-L3', 'PD-L2', 'PD-L3'],
      }),
    );
    const label = [{ system: CodeSystems.dataCategory, code: 'np-lp-contact' }];
    expect(event).toEqual({
      resourceType: 'AuditEvent',
      type: { system: CodeSystems.auditEventType, code: 'rest', display: 'Restful Operation' },
      subtype: [{ system: CodeSystems.restfulInteraction, code: 'search-type' }],
      action: 'E',
      recorded: RECORDED,
      outcome: '0',
      purposeOfEvent: [{ coding: [{ system: CodeSystems.purpose, code: 'child-wellbeing' }] }],
      agent: [
        {
          type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
          who: { reference: 'Organization/nhs-lothian', identifier: { system: IdentifierSystems.oauthClient, value: 'nhs-lothian-ehr' } },
          requestor: true,
          network: { address: '10.0.0.5', type: '2' },
          extension: [{ url: Extensions.partnership, valueReference: { reference: 'Organization/lothian' } }],
        },
        {
          type: { coding: [{ system: CodeSystems.participationType, code: 'IRCP', display: 'information recipient' }] },
          who: { reference: 'PractitionerRole/pr-7' },
          requestor: true,
        },
        {
          type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
          who: hub('mpi'),
          requestor: false,
        },
      ],
      source: {
        observer: hub('mpi'),
        type: [{ system: CodeSystems.auditSourceType, code: '4', display: 'Application Server' }],
      },
      entity: [
        {
          what: { reference: 'Patient/p1' },
          type: { system: CodeSystems.auditEntityType, code: '1', display: 'Person' },
          role: { system: CodeSystems.objectRole, code: '1', display: 'Patient' },
          securityLabel: label,
        },
        {
          type: { system: CodeSystems.auditEntityType, code: '2', display: 'System Object' },
          role: { system: CodeSystems.objectRole, code: '24', display: 'Query' },
          query: Buffer.from('CareTeam?subject=Patient/p1').toString('base64'),
          securityLabel: label,
        },
        {
          what: { identifier: { value: 'req-1' } },
          type: { system: CodeSystems.balp, code: 'XrequestId', display: 'X-Request-Id' },
          detail: [
            { type: 'method', valueString: 'GET' },
            { type: 'path', valueString: '/fhir/CareTeam' },
            { type: 'status', valueString: '200' },
          ],
        },
      ],
      extension: [
        { url: Extensions.maturityCriterion, valueCoding: { system: CodeSystems.maturityCriterion, code: 'PD-L2' } },
        { url: Extensions.maturityCriterion, valueCoding: { system: CodeSystems.maturityCriterion, code: 'PD-L3' } },
      ],
    });
    expect(criteriaOfEvent(event)).toEqual(['PD-L2', 'PD-L3']);
  });

  it('gives the same event for the same record, so the stored log can be re-derived and chained', () => {
    const record = exchange({ agent: { agency: 'police-scotland' }, subject: 'Patient/p1', criteria: ['SI-L3'] });
    expect(JSON.stringify(toAuditEvent(record))).toBe(JSON.stringify(toAuditEvent(record)));
  });

  it('records a denial as a minor failure with its reason and no criteria when none are given', () => {
    const event = toAuditEvent(
      exchange({
        service: 'plans',
        subtype: 'read',
        outcome: '4',
        httpStatus: 403,
        path: '/fhir/CarePlan/cp-1',
        outcomeDescription: 'The ISP does not allow police to read plans',
        agent: { clientId: 'police-scotland-sys', agency: 'police-scotland' },
        subject: 'Patient/p1',
        entities: [{ reference: 'CarePlan/cp-1' }],
      }),
    );
    expect(event.outcome).toBe('4');
    expect(event.outcomeDesc).toBe('The ISP does not allow police to read plans');
    expect(event.extension).toBeUndefined();
    expect(criteriaOfEvent(event)).toEqual([]);
    expect(event.entity?.[1]).toEqual({
      what: { reference: 'CarePlan/cp-1' },
      type: { system: CodeSystems.auditEntityType, code: '2', display: 'System Object' },
      role: { system: CodeSystems.objectRole, code: '4', display: 'Domain Resource' },
    });
    expect(event.entity?.[2]?.detail).toContainEqual({ type: 'status', valueString: '403' });
  });

  it('attaches the criteria a correct denial evidences, when the service gives them', () => {
    const event = toAuditEvent(
      exchange({
        service: 'plans',
        type: 'authz',
        subtype: 'consent-check',
        action: 'E',
        outcome: '4',
        httpStatus: 403,
        agent: { agency: 'education-edinburgh', practitionerRole: 'PractitionerRole/teacher-1' },
        subject: 'Patient/p1',
        entities: [{ reference: 'Consent/c-1', role: 'consent' }],
        criteria: ['SI-L3', 'PD-L5'],
      }),
    );
    expect(event.type).toEqual({ system: DCM, code: '110113', display: 'Security Alert' });
    expect(event.subtype).toEqual([{ system: CodeSystems.balpAuthZSubType, code: 'AuthZ-Consent' }]);
    expect(event.source.type).toEqual([{ system: CodeSystems.auditSourceType, code: '6', display: 'Security Server' }]);
    expect(event.agent.map((a) => a.type?.coding?.[0]?.code)).toEqual(['110150', 'IRCP', 'authserver']);
    expect(event.entity?.[1]).toEqual({
      what: { reference: 'Consent/c-1' },
      type: { system: CodeSystems.resourceTypes, code: 'Consent' },
    });
    expect(event.entity?.[2]?.detail).toContainEqual({ type: 'interaction', valueString: 'consent-check' });
    expect(criteriaOfEvent(event)).toEqual(['PD-L5', 'SI-L3']);
  });

  it("records a consent-checked read as ONE event: the read, its consent decisions (BALP AuthZconsent's content) and the disclosure", () => {
    const event = toAuditEvent(
      exchange({
        service: 'plans',
        path: '/fhir/CarePlan/cp-1',
        agent: { agency: 'edinburgh-education' },
        subject: 'Person/p-1',
        entities: [
          { reference: 'CarePlan/cp-1', role: 'domain-resource', description: 'permit (consent): Consent/c-1 shares plans', decision: { permit: true, basis: 'consent', consent: 'Consent/c-1' } },
          { reference: 'CarePlan/cp-2', role: 'domain-resource', decision: { permit: false, basis: 'no-consent' } },
          { reference: 'Consent/c-1', role: 'consent' },
        ],
        recipientAgency: 'edinburgh-education',
        patterns: ['AuthZ-Consent', 'disclose'],
        criteria: ['PD-L5'],
      }),
    );
    // The read stays the first restful code (what readers of `read` look for); the patterns follow it.
    expect(event.type.code).toBe('rest');
    expect(event.subtype).toEqual([
      { system: CodeSystems.restfulInteraction, code: 'read' },
      { system: CodeSystems.balpAuthZSubType, code: 'AuthZ-Consent' },
      { system: CodeSystems.iso21089Lifecycle, code: 'disclose', display: 'Disclose Record Lifecycle Event' },
    ]);
    expect(event.entity?.[1]?.detail).toEqual([
      { type: 'access-decision', valueString: 'permit' },
      { type: 'access-basis', valueString: 'consent' },
      { type: 'access-consent', valueString: 'Consent/c-1' },
    ]);
    expect(event.entity?.[2]?.detail).toEqual([
      { type: 'access-decision', valueString: 'deny' },
      { type: 'access-basis', valueString: 'no-consent' },
    ]);
    expect(event.entity?.[3]).toEqual({ what: { reference: 'Consent/c-1' }, type: { system: CodeSystems.resourceTypes, code: 'Consent' } });
    expect(event.agent.at(-1)).toEqual({ type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] }, who: { reference: 'Organization/edinburgh-education' }, requestor: false });
  });

  it('records a cross-agency send as a BALP privacy disclosure with the hub as source and the receiving agency as recipient', () => {
    const event = toAuditEvent(
      exchange({
        service: 'alerts',
        type: 'disclosure',
        subtype: 'create',
        action: 'C',
        httpStatus: 201,
        method: 'POST',
        path: '/fhir/Flag',
        agent: { clientId: 'sw-edinburgh-case', agency: 'sw-edinburgh', partnership: 'edinburgh' },
        sourceAddress: 'agency-gw.example.scot',
        subject: 'Patient/p1',
        entities: [{ reference: 'Flag/f-1', role: 'data', description: 'child protection alert' }],
        dataCategory: 'alert',
        purpose: 'child-protection',
        recipientAgency: 'ae-royal-infirmary',
        criteria: ['MA-L3', 'MA-L4'],
      }),
    );
    expect(event.type).toEqual({ system: DCM, code: '110106', display: 'Export' });
    expect(event.subtype).toEqual([
      { system: CodeSystems.iso21089Lifecycle, code: 'disclose', display: 'Disclose Record Lifecycle Event' },
      { system: CodeSystems.restfulInteraction, code: 'create' },
    ]);
    expect(event.agent).toEqual([
      {
        type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
        who: { reference: 'Organization/sw-edinburgh', identifier: { system: IdentifierSystems.oauthClient, value: 'sw-edinburgh-case' } },
        requestor: true,
        network: { address: 'agency-gw.example.scot', type: '1' },
        extension: [{ url: Extensions.partnership, valueReference: { reference: 'Organization/edinburgh' } }],
      },
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: hub('alerts'),
        requestor: false,
      },
      {
        type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
        who: { reference: 'Organization/ae-royal-infirmary' },
        requestor: false,
      },
    ]);
    // BALP: the source agent is the one that recorded the event.
    expect(event.agent[1]?.who).toEqual(event.source.observer);
    expect(event.entity?.[1]).toEqual({
      what: { reference: 'Flag/f-1' },
      type: { system: CodeSystems.auditEntityType, code: '2', display: 'System Object' },
      role: { system: CodeSystems.objectRole, code: '3', display: 'Report' },
      description: 'child protection alert',
      securityLabel: [{ system: CodeSystems.dataCategory, code: 'alert' }],
    });
    expect(event.purposeOfEvent).toEqual([{ coding: [{ system: CodeSystems.purpose, code: 'child-protection' }] }]);
  });

  it('records a refused token request as a user authentication with only the claimed client id', () => {
    const event = toAuditEvent(
      exchange({
        service: 'directory',
        type: 'login',
        subtype: 'token',
        action: 'E',
        outcome: '4',
        httpStatus: 401,
        method: 'POST',
        path: '/auth/token',
        outcomeDescription: 'client assertion already used',
        agent: { clientId: 'housing-edinburgh-sys' },
        sourceAddress: '::1',
      }),
    );
    expect(event.type).toEqual({ system: DCM, code: '110114', display: 'User Authentication' });
    expect(event.subtype).toEqual([{ system: CodeSystems.hubOperation, code: 'token' }]);
    expect(event.agent[0]).toEqual({
      type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
      who: { identifier: { system: IdentifierSystems.oauthClient, value: 'housing-edinburgh-sys' } },
      requestor: true,
      network: { address: '::1', type: '2' },
    });
    expect(event.agent[1]?.type?.coding?.[0]?.code).toBe('AuthzOauthService');
    expect(event.entity).toHaveLength(1);
  });

  it('codes a FHIR $operation as a restful operation plus its own name', () => {
    const event = toAuditEvent(exchange({ subtype: '$match', action: 'E' }));
    expect(event.subtype).toEqual([
      { system: CodeSystems.restfulInteraction, code: 'operation' },
      { system: CodeSystems.hubOperation, code: '$match' },
    ]);
  });

  it('puts the data category on the request entity when no entity describes data', () => {
    const event = toAuditEvent(exchange({ dataCategory: 'demographics', outcome: '8', httpStatus: 500 }));
    expect(event.entity).toHaveLength(1);
    expect(event.entity?.[0]?.securityLabel).toEqual([{ system: CodeSystems.dataCategory, code: 'demographics' }]);
  });

  it('refuses criterion codes that are not <AREA>-L<level>, rather than store false evidence', () => {
    expect(() => toAuditEvent(exchange({ criteria: ['MI-L3', 'mi-l3'] }))).toThrow(/mi-l3/);
    expect(() => toAuditEvent(exchange({ criteria: ['XX-L2'] }))).toThrow(RangeError);
    expect(() => toAuditEvent(exchange({ criteria: ['MI-L6'] }))).toThrow(RangeError);
  });

  it('stamps the recorded time from the clock only when the record has none', () => {
    const event = toAuditEvent(exchange({ recorded: undefined }), () => new Date(RECORDED));
    expect(event.recorded).toBe(RECORDED);
  });

  it('builds every member in key order, so the audit entry writes the event as built (its canonical JSON is plain JSON.stringify, nothing copied)', () => {
    const records: ExchangeRecord[] = [
      exchange({
        service: 'plans',
        agent: { clientId: 'edu-sys', agency: 'edinburgh-education', partnership: 'lothian', practitionerRole: 'PractitionerRole/pr-1', patient: 'Patient/p-9' },
        sourceAddress: '10.0.0.1',
        subject: 'Person/p-1',
        entities: [
          { reference: 'Person/p-1', role: 'subject' },
          { reference: 'Patient/p-2', role: 'subject', description: 'another record of theirs' },
          { reference: 'CarePlan/cp-1', role: 'domain-resource', description: 'permit (consent)', decision: { permit: true, basis: 'consent', consent: 'Consent/c-1' } },
          { reference: 'DocumentReference/d-1', role: 'data' },
          { reference: 'CarePlan?subject=Patient/p-2', role: 'query' },
          { reference: 'Consent/c-1', role: 'consent' },
        ],
        dataCategory: 'plan',
        purpose: 'care-planning',
        recipientAgency: 'edinburgh-education',
        patterns: ['AuthZ-Consent', 'disclose'],
        criteria: ['PD-L5', 'AP-L3'],
        outcomeDescription: 'read',
      }),
      exchange({ type: 'disclosure', subtype: 'deliver', trigger: { kind: 'job', queue: 'q', jobId: 'j', attempt: 1, maxAttempts: 3 }, recipientAgency: 'nhs-lothian' }),
      exchange({ type: 'login', subtype: 'token', agent: { clientId: 'c' }, sourceAddress: '::1', outcome: '4', httpStatus: 401 }),
      exchange({ type: 'authz', subtype: 'AuthZ-Role', dataCategory: 'alert', entities: [{ reference: 'Consent/c-2', role: 'consent' }] }),
      exchange({ subtype: '$match', action: 'E', dataCategory: 'demographics' }),
    ];
    for (const record of records) {
      const event = toAuditEvent(record);
      expect(JSON.stringify(event)).toBe(canonicalJson(event));
    }
  });
});

describe('the stored form (layout 4): fixed parts by reference to the audit vocabulary', () => {
  const withTime = (record: ExchangeRecord) => ({ ...record, recorded: record.recorded ?? RECORDED });
  const delivery = exchange({
    service: 'alerts',
    type: 'transmit',
    subtype: '$process-message',
    action: 'C',
    httpStatus: undefined,
    method: undefined,
    path: undefined,
    trigger: { kind: 'job', queue: 'alerts/deliveries', jobId: 'm-1~police-scotland', attempt: 1, maxAttempts: 12 },
    agent: { clientId: 'nhs-lothian-emis', agency: 'nhs-lothian', partnership: 'lothian-hscp', practitionerRole: 'PractitionerRole/pr-1' },
    subject: 'Person/p-1',
    entities: [
      { reference: 'MessageHeader/m-1', role: 'data' },
      { reference: 'Flag/f-1', role: 'data' },
    ],
    dataCategory: 'alert',
    purpose: 'child-protection',
    recipientAgency: 'police-scotland',
    criteria: ['MA-L3', 'MA-L4', 'PD-L4'],
    outcomeDescription: 'Delivered to police-scotland and acknowledged (ok)',
  });

  it('expands to the full event byte for byte: what layout 3 stored, and what every reader answers', () => {
    const entry = storedAuditEntry(withTime(delivery));
    expect(entry.v).toBe('4');
    expect(fullEventText(entry)).toBe(canonicalJson(toAuditEvent(delivery)));
    expect(eventOfEntry(entry)).toEqual(toAuditEvent(delivery));
    // The flat fields are the layout 3 entry's.
    const full = toAuditEntry(delivery, toAuditEvent(delivery));
    expect({ ...entry, v: '3', event: fullEventText(entry) }).toEqual(full);
    // Read back from what XADD writes, it still expands to the same event.
    expect(eventOfEntry(parseAuditEntry(entryArgs(entry)))).toEqual(toAuditEvent(delivery));
  });

  it('stores a delivery attempt\'s event in well under half the bytes: its codings, agent types, the hub\'s agent and source are references', () => {
    const stored = storedAuditEntry(withTime(delivery)).event;
    const full = canonicalJson(toAuditEvent(delivery));
    expect(stored.length).toBeLessThan(full.length * 0.45);
    expect(stored).not.toContain('dicom.nema.org');
    expect(stored).not.toContain('terminology.hl7.org');
    expect(stored).not.toContain(CodeSystems.maturityCriterion);
    // What is the exchange's own stays in the entry as it is.
    for (const own of ['Person/p-1', 'MessageHeader/m-1', 'Organization/police-scotland', 'nhs-lothian-emis', 'alerts/deliveries', 'Delivered to police-scotland']) expect(stored).toContain(own);
  });

  it('finds every fixed part the builder writes in the vocabulary (a new coding needs a new vocabulary version)', () => {
    const missing = fixedPartsOfEvents().filter((text) => vocabularyReference(text) === undefined);
    expect(missing).toEqual([]);
  });

  it('writes in full what the vocabulary does not hold (a service, purpose or category added since), and still expands to the full event', () => {
    const record = exchange({ subtype: '$new-operation', purpose: 'research', dataCategory: 'genomics', service: 'reports' as ExchangeRecord['service'], method: 'OPTIONS', httpStatus: 418 });
    const entry = storedAuditEntry(withTime(record));
    expect(entry.event).toContain('"research"');
    expect(entry.event).toContain('"infoshare reports"');
    expect(fullEventText(entry)).toBe(canonicalJson(toAuditEvent(record)));
  });

  it('expands any exchange\'s stored event to its full event, whatever its values hold (property)', () => {
    const text = fc.oneof(fc.string(), fc.constantFrom('{"#":1}', '{\\"#\\":2}', '"}', 'GET', '200', 'job'));
    const entity = fc.record<ExchangeEntity>(
      {
        reference: fc.oneof(text, fc.constant('Person/p-1')),
        role: fc.constantFrom('subject', 'query', 'data', 'domain-resource', 'consent', undefined),
        description: text,
        decision: fc.record({ permit: fc.boolean(), basis: text, consent: text }, { requiredKeys: ['permit', 'basis'] }),
      },
      { requiredKeys: ['reference'] },
    );
    const record = fc.record({
      service: fc.constantFrom(...SERVICE_NAMES),
      type: fc.constantFrom('rest', 'login', 'authz', 'transmit', 'disclosure'),
      subtype: fc.oneof(text, fc.constantFrom('read', 'search-type', '$process-message', 'token', 'deliver', 'AuthZ-Consent', '$x')),
      action: fc.constantFrom('C', 'R', 'U', 'D', 'E'),
      outcome: fc.constantFrom('0', '4', '8', '12'),
      outcomeDescription: fc.option(text, { nil: undefined }),
      httpStatus: fc.option(fc.constantFrom(200, 201, 404, 418), { nil: undefined }),
      method: fc.option(fc.constantFrom('GET', 'POST', 'OPTIONS'), { nil: undefined }),
      path: fc.option(text, { nil: undefined }),
      trigger: fc.option(
        fc.oneof(
          fc.record({ kind: fc.constant('job' as const), queue: text, jobId: text, attempt: fc.nat(9), maxAttempts: fc.nat(9) }),
          fc.record({ kind: fc.constant('change' as const), store: text }),
          fc.record({ kind: fc.constant('outbound' as const), method: fc.constantFrom('POST', 'GET'), url: text, status: fc.constantFrom(200, 503) }),
        ),
        { nil: undefined },
      ),
      agent: fc.record({ clientId: text, agency: text, partnership: text, practitionerRole: text, patient: text }, { requiredKeys: [] }),
      sourceAddress: fc.option(fc.constantFrom('10.0.0.1', '::1', 'host.example'), { nil: undefined }),
      subject: fc.option(fc.constantFrom('Person/p-1', 'Patient/q'), { nil: undefined }),
      entities: fc.array(entity, { maxLength: 4 }),
      dataCategory: fc.option(fc.oneof(fc.constantFrom(...DATA_CATEGORIES), text), { nil: undefined }),
      purpose: fc.option(fc.oneof(fc.constantFrom(...PURPOSES), text), { nil: undefined }),
      criteria: fc.subarray(['MA-L3', 'MA-L4', 'PD-L4', 'SI-L3', 'AP-L2']),
      recipientAgency: fc.option(text, { nil: undefined }),
      patterns: fc.option(fc.subarray(['AuthZ-Consent', 'disclose'] as const), { nil: undefined }),
    });
    fc.assert(
      fc.property(record, (fields) => {
        const exchangeRecord = withTime(exchange(fields));
        const entry = parseAuditEntry(entryArgs(storedAuditEntry(exchangeRecord)));
        expect(fullEventText(entry)).toBe(canonicalJson(toAuditEvent(exchangeRecord)));
      }),
      { numRuns: 300 },
    );
  });
});
