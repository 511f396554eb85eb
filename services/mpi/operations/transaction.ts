/**
 * `POST /fhir` with a `transaction` Bundle of agency records — `POST Patient`,
 * `PUT Patient/{id}`, or the conditional `PUT Patient?identifier=<system>|<value>`
 * ("create or update this record", operations/update.ts): an agency's initial
 * load (thousands of records), or its changes. All or nothing: every entry is
 * validated first and any problem refuses the whole Bundle with every problem
 * listed, before anything is written. With `Prefer: respond-async` the
 * validated records are registered in the background (202 + a status URL).
 */
import type { Bundle, BundleEntry, OperationOutcomeIssue, Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { bodyBytesOf, respond } from '../../../shared/fhir/express.js';
import { badRequest, informational, interactionNotSupported, invalidIssues, invalidResource, isOperationOutcomeError, outcome } from '../../../shared/fhir/outcome.js';
import { transactionReferenceIssues } from '../../../shared/fhir/transaction-references.js';
import { invalidityError, type Validity } from '../../../shared/fhir/validate.js';
import { contentHash } from '../../../shared/store/content-hash.js';
import type { SubmittingAgency } from '../domain/from-patient.js';
import { registrationCriteria } from '../domain/criteria.js';
import { storedDigest, versionKey, type Submission } from '../registration.js';
import { submissionOf } from '../submission.js';
import { actorOf, type MpiContext } from '../context.js';
import { assertVersionsCurrent, entryRequest, entrySubmission } from './update.js';
import { REGISTRATION_EXCHANGE, refusedUnderSecurityModel, submittingAgency } from './register.js';
import { transactionResponse } from '../transaction-response.js';
import { isJsonObject } from '../../../shared/json-object.js';
import { yieldToIo } from '../../../shared/runtime/yield-to-io.js';

/** Entries parsed between two yields to I/O (`alreadyStored`). */
const PARSE_SLICE = 100;

export function transaction(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'transaction', action: 'C', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const bundle = req.body as Bundle | undefined;
    if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
      throw invalidResource('Expected a transaction Bundle', 'resourceType');
    }
    // A batch is a FHIR interaction this base does not serve (its CapabilityStatement declares transaction only):
    // refused as every other base refuses one (400 not-supported), not as an invalid Bundle.
    if (bundle.type === 'batch') {
      throw interactionNotSupported('Batch Bundles are not supported here: send the entries as a transaction (all or nothing). GET /fhir/metadata lists the interactions served');
    }
    if (bundle.type !== 'transaction') {
      throw invalidResource(`Only transaction Bundles are accepted here (got type ${String(bundle.type)})`, 'Bundle.type');
    }
    if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw invalidResource('Bundle.entry must be an array of entries', 'Bundle.entry');
    const entries: unknown[] = bundle.entry ?? [];

    const partnership = await ctx.partnership.snapshot();
    const agency = submittingAgency(partnership, auth.agency, res);
    if (entries.length === 0) {
      // R4 (http.html §3.1.0.11.2) lets a transaction be empty: all of nothing succeeds, so its response is empty too
      // (no `entry`: FHIR JSON has no empty arrays). A client flushing an empty change set is not in error.
      const nothing: Bundle = { resourceType: 'Bundle', type: 'transaction-response' };
      await respond(req, res, 200, nothing);
      return;
    }
    // R4 validation of every entry, on a worker thread for big Bundles or big bodies (the same validator, so the same verdicts).
    const resources = entries.map((entry) => (isJsonObject(entry) ? entry.resource : undefined));
    // Entries that re-send a stored record unchanged passed validation when it was stored: not validated again.
    const { stored, submissions: parsed } = await alreadyStored(ctx, resources, agency);
    const toValidate = resources.filter((_, i) => !stored[i]);
    const checked = await ctx.validation.validateEach(toValidate, 'Patient', { parsedJson: true, bytes: stored.some(Boolean) ? Math.round((bodyBytesOf(req) * toValidate.length) / resources.length) : bodyBytesOf(req) });
    let next = 0;
    const validities = resources.map((_, i): Validity => (stored[i] ? { valid: true } : checked[next++]!));
    const submissions: Submission[] = [];
    // Each entry is stored as sent: a temporary reference would be stored unresolved, so it is one more problem listed.
    const issues: OperationOutcomeIssue[] = transactionReferenceIssues(entries);
    const seen = new Map<string, number>();
    entries.forEach((value, i) => {
      const where = `Bundle.entry[${i}]`;
      try {
        if (!isJsonObject(value)) throw invalidResource('Each entry must be an object with a resource and a request', where);
        const entry = value as BundleEntry;
        if (!isJsonObject(entry.request)) throw invalidResource('Each entry needs a request (method and url)', `${where}.request`);
        const request = entryRequest(entry, where);
        const validity = validities[i]!;
        if (!validity.valid) throw invalidityError(validity);
        const patient = entry.resource as Patient;
        // A create's submission was parsed already (alreadyStored); an update's depends on its request.
        const submission = (!request.target ? parsed[i] : undefined) ?? refusedUnderSecurityModel(res, () => entrySubmission(patient, request, agency, `${where}.resource`));
        const earlier = seen.get(submission.recordId);
        if (earlier !== undefined) {
          throw invalidResource(`The same agency identifier is already in entry ${earlier}; send a record once per transaction`, `${where}.resource.identifier`);
        }
        seen.set(submission.recordId, i);
        submissions.push(submission);
      } catch (err) {
        // A record under another agency's system refuses the whole Bundle as 403, not 422.
        if (isOperationOutcomeError(err) && err.status === 403) throw err;
        if (!isOperationOutcomeError(err)) throw err;
        for (const issue of err.outcome.issue) {
          issues.push({ ...issue, expression: issue.expression?.map((e) => (e.startsWith('Bundle') ? e : `${where}.resource.${e.replace(/^Patient\.?/, '')}`.replace(/\.$/, ''))) ?? [where] });
        }
      }
    });
    if (issues.length) {
      // The outcome lists the first problems and counts the rest (outcome.ts MAX_ISSUES).
      throw invalidIssues([
        { severity: 'error', code: 'invalid', details: { text: `The transaction was refused: ${issues.length} problem(s); nothing was registered` } },
        ...issues,
      ]);
    }

    await assertVersionsCurrent(ctx, submissions);
    const prefer = req.get('prefer') ?? '';
    if (/\brespond-async\b/.test(prefer)) {
      if (submissions.some((s) => s.ifMatch !== undefined)) {
        throw badRequest('A background load registers records as they are when it runs: send updates with If-Match without Prefer: respond-async', 'Bundle.entry.request.ifMatch');
      }
      // Validated and accepted: registered in the background (workers/registrations.ts); the client polls the status URL.
      const { requestId, agent } = causeOf(req, res);
      const { jobId, repeat } = await ctx.registrations.accept({
        origin: { requestId, agent },
        agencyId: agency.agencyId,
        actor: actorOf(auth),
        patients: submissions.map((s) => s.patient),
      });
      res.set('Content-Location', `${ctx.baseUrl}/_async/${jobId}`);
      // An identical Bundle again (a client retry) is the same job: said with issue code `duplicate`, so clients can tell.
      const answer = repeat
        ? outcome('duplicate', `This Bundle of ${submissions.length} record(s) was already accepted; nothing new was queued. Its result is at the Content-Location`, { severity: 'information' })
        : informational(`Accepted ${submissions.length} record(s) for registration in the background; poll the Content-Location for the result`);
      await respond(req, res, 202, answer);
      return;
    }

    const results = await ctx.registrar.register(submissions, actorOf(auth), agency.agencyId, partnership, { cause: causeOf(req, res) });
    // `Prefer: return=minimal` (FHIR): status, location and outcome per entry, without the records —
    // what a bulk loader wants; the default returns each record with its match outcome.
    const minimal = /\breturn=minimal\b/.test(prefer);
    await respond(req, res, 200, transactionResponse(results, ctx.baseUrl, minimal), {
      entities: results.map((r) => ({ reference: `Patient/${r.recordId}`, role: 'subject' as const, description: r.plan.outcome })),
      criteria: registrationCriteria(results),
    });
  };
}

/**
 * Which entries re-send a stored record exactly as it is stored: a Patient without `id` or
 * `meta`, naming no managing organisation but the agency's own, whose content digest is the
 * stored version's. Such content was validated when it was stored, so an agency re-sending
 * its whole extract pays for validating only what changed. Anything else (a new record, a
 * change, any shape the parser does not take) is validated as usual. Digests are worked out
 * only for records that have a stored version (a first load hashes nothing), and each
 * entry's submission is kept (with its digest, and the stored version's, when worked out) so it
 * is neither parsed nor read and hashed again.
 */
async function alreadyStored(ctx: MpiContext, resources: readonly unknown[], agency: SubmittingAgency): Promise<{ stored: boolean[]; submissions: (Submission | undefined)[] }> {
  const own = `Organization/${agency.agencyId}`;
  const submissionFrom = (r: unknown): Submission | undefined => {
    if (!isJsonObject(r) || r.resourceType !== 'Patient' || r.id !== undefined || r.meta !== undefined) return undefined;
    const managing = r.managingOrganization;
    if (managing !== undefined && !(isJsonObject(managing) && managing.reference === own && Object.keys(managing).length === 1)) return undefined;
    try {
      return submissionOf(r as unknown as Patient, agency);
    } catch {
      return undefined; // not parseable: the validator says why
    }
  };
  const submissions: (Submission | undefined)[] = [];
  for (let i = 0; i < resources.length; i++) {
    // In slices (a 1,000-record Bundle is tens of ms of parsing): the chunk holding the index lock gets its replies handled in between.
    if (i > 0 && i % PARSE_SLICE === 0) await yieldToIo();
    submissions.push(submissionFrom(resources[i]));
  }
  const known = submissions.flatMap((s, i) => (s ? [i] : []));
  if (known.length === 0) return { stored: resources.map(() => false), submissions };
  const versions = await ctx.store.getRecords(known.map((i) => submissions[i]!.recordId));
  const stored = resources.map(() => false);
  known.forEach((i, k) => {
    const version = versions[k];
    const submission = submissions[i]!;
    // What was read goes with the submission: the registrar does not read and hash it again.
    if (!version) {
      submissions[i] = { ...submission, stored: null };
      return;
    }
    const digest = contentHash(submission.patient);
    const storedVersion = { version: versionKey(version), digest: storedDigest(version) };
    submissions[i] = { ...submission, digest, stored: storedVersion };
    stored[i] = storedVersion.digest === digest;
  });
  return { stored, submissions };
}
