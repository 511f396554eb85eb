/**
 * `GET /fhir/Patient/$ihe-pix?sourceIdentifier=system|value[&targetSystem=…]`
 * (IHE PIXm): the other agencies' identifiers for the same person, and the
 * person's CHI where the ISP lets the caller see it (CHI seeding).
 * PIXm errors: unknown source identifier → 404, unknown source domain → 400,
 * unknown target domain → 403.
 */
import type { Parameters, ParametersParameter, Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, conflict, forbidden, notFound } from '../../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { chiBlockingKey } from '../domain/blocking.js';
import { validateChi } from '../domain/chi.js';
import { recordIdFor } from '../domain/from-patient.js';
import { agencyOfRecord, chiOfRecord } from '../domain/person.js';
import { identifierHash } from '../registration.js';
import type { MpiContext } from '../context.js';
import { REGISTRATION_EXCHANGE } from './register.js';

export function pixQuery(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$ihe-pix', action: 'E', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const source = splitToken(single(req.query.sourceIdentifier, 'sourceIdentifier'));
    const targetSystems = many(req.query.targetSystem);
    const partnership = await ctx.partnership.snapshot();
    const known = (system: string) => system === IdentifierSystems.chi || partnership.systemsByAgency.has(system);
    if (!known(source.system)) throw badRequest(`Unknown source domain: ${source.system} is not an identifier system of this partnership`, 'sourceIdentifier');
    const unknownTarget = targetSystems.find((s) => !known(s));
    if (unknownTarget) throw forbidden(`Unknown target domain: ${unknownTarget}`);

    const sourceAgency = partnership.systemsByAgency.get(source.system);
    // A record whose demographics may not reach the caller is, to the caller, unknown:
    // answering would disclose its cross-references (and that it exists).
    const sourceVisible = sourceAgency === undefined || partnership.demographicsMayFlow(sourceAgency, auth.agency).allowed;
    const sourceIds = sourceVisible ? await sourceRecordIds(ctx, source, sourceAgency) : [];
    if (sourceIds.length === 0) throw notFound(`No record with identifier ${source.system}|${source.value}`);
    const links = await ctx.store.getLinks(sourceIds);
    const personIds = [...new Set(links.flatMap((l) => (l ? [l.personId] : [])))];
    const memberLists = await Promise.all(personIds.map((p) => ctx.store.getMembers(p)));
    const memberIds = [...new Set(memberLists.flatMap((m) => [...m.keys()]))];
    const records = (await ctx.store.getRecords(memberIds)).filter((r): r is Patient => r !== undefined);

    const visible = records.filter((r) => {
      const owner = agencyOfRecord(r);
      return owner !== undefined && partnership.demographicsMayFlow(owner, auth.agency).allowed;
    });
    if (source.system === IdentifierSystems.chi) {
      const personOf = new Map(personIds.flatMap((p, i) => [...memberLists[i]!.keys()].map((record) => [record, p] as const)));
      refuseDisputedChi(source.value, new Set(visible.map((r) => personOf.get(r.id!))));
    }
    const wants = (system: string) => targetSystems.length === 0 || targetSystems.includes(system);
    const parameter: ParametersParameter[] = [];
    // An agency identifier names one record: the answer is the *other* records. A CHI names
    // the person: every record holding it is an answer too.
    const bySourceRecord = source.system !== IdentifierSystems.chi;
    for (const r of visible) {
      if (bySourceRecord && sourceIds.includes(r.id!)) continue;
      const local = r.identifier?.find((i) => i.system !== IdentifierSystems.chi && partnership.systemsByAgency.has(i.system ?? ''));
      if (local?.system && wants(local.system)) {
        parameter.push({ name: 'targetIdentifier', valueIdentifier: { system: local.system, value: local.value } });
        parameter.push({ name: 'targetId', valueReference: { reference: `Patient/${r.id}` } });
      }
    }
    const chi = visible.map(chiOfRecord).find((c) => c !== undefined);
    const seeded = chi !== undefined && wants(IdentifierSystems.chi) && source.system !== IdentifierSystems.chi;
    if (seeded) parameter.push({ name: 'targetIdentifier', valueIdentifier: { system: IdentifierSystems.chi, value: chi } });
    // CHI seeding: the caller's own record had no CHI and now learns it (MI-L2).
    const callerLacksChi = records.some((r) => sourceIds.includes(r.id!) && agencyOfRecord(r) === auth.agency && !chiOfRecord(r));
    const body: Parameters = { resourceType: 'Parameters', parameter };
    await respond(req, res, 200, body, {
      subject: sourceIds[0] ? `Patient/${sourceIds[0]}` : undefined,
      entities: personIds.map((p) => ({ reference: `Person/${p}`, role: 'subject' as const })),
      criteria: seeded && callerLacksChi ? ['MI-L2', 'MI-L4'] : ['MI-L4'],
    });
  };
}

/**
 * A CHI names one person, so records holding it should sit in one Person. When
 * the caller can see them in several, the index has an open question (the same
 * CHI with contradicting sex and birth date waits for review, or a reviewer kept
 * the records apart): answering would present two people as one. The caller can
 * still ask by its own agency identifier, which names one record and one Person.
 */
function refuseDisputedChi(chi: string, visiblePersons: ReadonlySet<string | undefined>): void {
  if (visiblePersons.size <= 1) return;
  throw conflict(
    `CHI ${chi} is held by records of ${visiblePersons.size} different people in the index (a record waiting for match review, ` +
      'or kept apart by a reviewer), so it cannot be answered as one person. Ask by your own agency identifier instead.',
    'sourceIdentifier',
  );
}

async function sourceRecordIds(ctx: MpiContext, source: { system: string; value: string }, agencyId: string | undefined): Promise<string[]> {
  if (source.system === IdentifierSystems.chi) {
    const chi = validateChi(source.value);
    if (!chi.valid) throw badRequest(`Invalid CHI number: ${chi.reason}`, 'sourceIdentifier');
    // The CHI blocking set is the CHI index (never size-capped: a CHI is one person).
    const [ids] = await ctx.store.candidateIds([[chiBlockingKey(chi.chi)]], Number.MAX_SAFE_INTEGER);
    return ids ?? [];
  }
  const id = recordIdFor(agencyId!, source.value, identifierHash);
  return (await ctx.store.getRecord(id)) ? [id] : [];
}

function single(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`Query parameter ${name} (system|value) is required, once`, name);
  return value;
}

function many(value: unknown): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.flatMap((v) => (typeof v === 'string' ? v.split(',') : [])).filter((v) => v.length > 0);
}

function splitToken(token: string): { system: string; value: string } {
  const bar = token.indexOf('|');
  if (bar <= 0 || bar === token.length - 1) throw badRequest('sourceIdentifier must be system|value', 'sourceIdentifier');
  return { system: token.slice(0, bar), value: token.slice(bar + 1) };
}
