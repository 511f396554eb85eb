/**
 * Looking alerts up — what A&E or out-of-hours does when a person presents:
 *
 *   GET /fhir/Flag?subject=<system>|<value>|Patient/<record id>[&status=active|inactive]
 *       the alerts about that person (any agency's identifier, or the CHI, resolved through the
 *       MPI to the index Person) that the caller may see under the ISP, each with its NP/LP
 *       CareTeam (search mode `include`) where the ISP lets the caller receive NP/LP contact details;
 *   GET /fhir/Flag/<id>                  one alert, the same way;
 *   GET /fhir/Flag/<id>/$accesses        its last 25 look-ups: to the NP/LP's agency and the sender only.
 *
 * Every look-up that shows an alert records an access and notifies the NP/LP's agency
 * (accesses.ts) before answering. What the caller may not see — the ISP does not route it
 * there, or a Consent in force withholds the person's alerts from the caller (as it withholds
 * their delivery) — is not there: not counted, and a read of it is the 404 an unknown id gets;
 * a consent withholding is audited in the look-up's own record (AuthZconsent's content, PD-L5).
 */
import type { Request, Response } from 'express';
import type { CareTeam, Flag, Parameters } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { addDecisions, causeOf, describeExchange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { markDenial } from '../../../shared/http/metrics.js';
import { badRequest, notFound } from '../../../shared/fhir/outcome.js';
import { deniedAsUnknown } from '../../../shared/fhir/rest/access.js';
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import { searchsetBundle } from '../../../shared/fhir/bundle.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import { ResultParamsReader } from '../../../shared/store/search-plan.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import type { Logger } from '../../../shared/log.js';
import { recordAccess } from '../accesses.js';
import { MA_L5_RECEIVERS } from '../domain/delivery-criteria.js';
import type { AlertsContext } from '../context.js';
import { flagFor } from '../domain/minimise.js';
import type { StoredFlag } from '../store.js';
import type { AlertConsent } from '../../plans/view.js';
import { consentWithholding, viewOf, type FlagView } from '../visibility.js';

/** What a Flag search takes besides the result parameters (`_count`, `_offset`, `_total`, `_summary=count`). */
const SEARCH_PARAMETERS = ['subject', 'status'];


export function readFlag(ctx: AlertsContext, log: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'read', action: 'R', dataCategory: 'alert' });
    const id = String(req.params.id);
    const agency = authContext(res).agency;
    const flag = await ctx.store.flag(id);
    const view = flag && (await viewOf(ctx.isp, flag, agency));
    if (!flag || !view) {
      if (flag) deniedAsUnknown(res, `${agency} may not see Flag/${id}`);
      throw notFound(`Flag/${id} is not known`);
    }
    const withheld = await consentWithholding(ctx.consent, flag, agency, view, new Date());
    if (withheld) {
      describeExchange(res, { subject: `Person/${flag.personId}`, purpose: flag.purpose });
      auditWithheld(res, [{ flag, consent: withheld }]);
      deniedAsUnknown(res, `consent withholds this person's alerts from ${agency} (${withheld.detail})`);
      markDenial(res, 'consent');
      throw notFound(`Flag/${id} is not known`);
    }
    describeExchange(res, { subject: `Person/${flag.personId}`, purpose: flag.purpose, entities: [{ reference: `Flag/${id}`, role: 'domain-resource' }] });
    await recordAccess(ctx, flag, { requestId: requestIdOf(res), agent: causeOf(req, res).agent, agencyId: agency }, log);
    await respond(req, res, 200, flagFor(flag.flag as Flag, view.agencyType), { criteria: lookupCriteria([view]) });
  };
}

export function searchFlags(ctx: AlertsContext, log: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'search-type', action: 'R', dataCategory: 'alert' });
    const query = searchQueryOf(req);
    const result = await servedSearch(req, res, query, () => {
      const reader = new ResultParamsReader();
      for (const [name, raw] of query) if (!reader.read(name, raw) && !SEARCH_PARAMETERS.includes(name)) throw unservedSearchParameter('Flag', name, SEARCH_PARAMETERS);
      return reader.params();
    });
    const subjects = query.getAll('subject');
    if (subjects.length !== 1) throw badRequest('Flag search needs exactly one subject: <identifier system>|<value>, or Patient/<record id>', 'subject');
    const statuses = query.getAll('status').flatMap((s) => s.split(','));
    if (statuses.some((s) => s !== 'active' && s !== 'inactive')) throw badRequest('status is active or inactive', 'status');
    const agency = authContext(res).agency;
    const personId = await personOfSubject(ctx, subjects[0]!);
    const flags = personId ? await ctx.store.flagsOfPerson(personId) : [];
    if (personId) describeExchange(res, { subject: `Person/${personId}` });

    const shown: { flag: StoredFlag; view: FlagView }[] = [];
    const withheld: Withheld[] = [];
    const now = new Date();
    for (const flag of flags) {
      if (statuses.length > 0 && !statuses.includes(flag.status)) continue;
      const view = await viewOf(ctx.isp, flag, agency);
      if (!view) continue;
      const consent = await consentWithholding(ctx.consent, flag, agency, view, now);
      if (consent) withheld.push({ flag, consent });
      else shown.push({ flag, view });
    }
    auditWithheld(res, withheld);
    // Only the page is shown, so only its alerts are looked at (`_summary=count` shows none): accesses are the page's.
    const page = shown.slice(result.offset, result.offset + result.count);
    const looker = { requestId: requestIdOf(res), agent: causeOf(req, res).agent, agencyId: agency };
    await Promise.all(page.map(({ flag }) => recordAccess(ctx, flag, looker, log)));
    const careTeams = page.flatMap(({ flag, view }) => (view.categories.includes('np-lp-contact') && flag.careTeam ? [flag.careTeam as CareTeam] : []));
    describeExchange(res, { entities: page.map(({ flag }) => ({ reference: `Flag/${flag.id}`, role: 'domain-resource' as const })) });
    // The search as served (without what `Prefer: handling=lenient` dropped), on the service's base.
    const self = new URL(`${ctx.baseUrl}/Flag${query.size > 0 ? `?${query.toString()}` : ''}`);
    const minimised = page.map(({ flag, view }) => flagFor(flag.flag as Flag, view.agencyType));
    const bundle = searchsetBundle<Flag>({ resources: minimised, offset: result.offset, count: result.count, ...(result.total ? { total: shown.length } : {}) }, self, ctx.baseUrl, careTeams);
    await respond(req, res, 200, bundle, { criteria: page.length > 0 ? lookupCriteria(page.map((s) => s.view)) : [] });
  };
}

export function flagAccesses(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$accesses', action: 'R', dataCategory: 'alert' });
    const id = String(req.params.id);
    const agency = authContext(res).agency;
    const flag = await ctx.store.flag(id);
    // The NP/LP's agency and the sender only; to anyone else the alert is unknown.
    if (!flag || (flag.sender !== agency && !flag.npLpAgencies.includes(agency))) {
      if (flag) deniedAsUnknown(res, `${agency} is neither the sender nor the NP/LP's agency of Flag/${id}`);
      throw notFound(`Flag/${id} is not known`);
    }
    describeExchange(res, { subject: `Person/${flag.personId}`, purpose: flag.purpose, entities: [{ reference: `Flag/${id}`, role: 'domain-resource' }] });
    const accesses = await ctx.store.accessesOf(id);
    const parameters: Parameters = {
      resourceType: 'Parameters',
      parameter: accesses.map((a) => ({
        name: 'access',
        part: [
          { name: 'when', valueInstant: a.at },
          { name: 'agency', valueReference: { reference: `Organization/${a.agency}` } },
          ...(a.practitionerRole ? [{ name: 'practitioner', valueReference: { reference: a.practitionerRole } }] : []),
          ...(a.messageId ? [{ name: 'notification', valueString: a.messageId }] : []),
        ],
      })),
    };
    // PD-L3: the NP/LP's details and who looked their person up are read electronically.
    await respond(req, res, 200, parameters, { criteria: ['PD-L3'] });
  };
}

interface Withheld {
  readonly flag: StoredFlag;
  readonly consent: AlertConsent;
}

/**
 * Alerts a Consent kept from the caller, in the look-up's own record: each Flag with its deny decision and
 * the Consent that decided (BALP AuthZconsent's content) — a correct denial, PD-L5 evidence. The caller's
 * answer does not show them.
 */
function auditWithheld(res: Response, withheld: readonly Withheld[]): void {
  if (withheld.length === 0) return;
  addDecisions(res, () => ({
    entities: withheld.map(({ flag, consent }) => ({
      reference: `Flag/${flag.id}`,
      role: 'domain-resource' as const,
      decision: { permit: false, basis: 'denied-by-consent', ...(consent.consent ? { consent: consent.consent } : {}) },
    })),
    patterns: ['AuthZ-Consent'],
    criteria: ['PD-L5'],
    criteriaOnDenial: ['PD-L5'],
  }));
}

/** The index Person a search's subject names, or undefined when it names no one the index holds. */
async function personOfSubject(ctx: AlertsContext, subject: string): Promise<string | undefined> {
  if (subject.startsWith('Patient/')) return (await ctx.mpi.personOf(subject.slice('Patient/'.length)))?.personId;
  const bar = subject.indexOf('|');
  if (bar <= 0 || bar === subject.length - 1) throw badRequest('subject is <identifier system>|<value> (an agency identifier or the CHI), or Patient/<record id>', 'subject');
  const system = subject.slice(0, bar);
  const value = subject.slice(bar + 1);
  if (system === IdentifierSystems.chi) {
    const persons = await ctx.mpi.personsWithChi(value);
    // Two Persons holding one CHI wait for a reviewer: neither is "the" person yet.
    return persons.length === 1 ? persons[0] : undefined;
  }
  const agencies = await ctx.isp.agencies();
  const owner = [...agencies.values()].find((a) => a.patientIdentifierSystem === system);
  if (!owner) return undefined;
  return (await ctx.mpi.personOf(ctx.mpi.recordIdOf(owner.id, value)))?.personId;
}

/**
 * IM-L4 (checked against the ISP); MA-L5 when A&E, out-of-hours, police or fire — or an agency
 * across the boundary — sees an alert; PD-L3 when NP/LP details are shown. The notification to the
 * NP/LP's agency shows MA-L3 when that agency acknowledges it (its delivery's record), not here.
 */
function lookupCriteria(views: readonly FlagView[]): string[] {
  const criteria = ['IM-L4'];
  if (views.some((v) => MA_L5_RECEIVERS.includes(v.agencyType) || v.crossesBoundary)) criteria.push('MA-L5');
  if (views.some((v) => v.categories.includes('np-lp-contact'))) criteria.push('PD-L3');
  return criteria;
}

