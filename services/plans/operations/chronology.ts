/**
 * The integrated chronology of one person across agencies (AP-L5):
 *
 *   GET /fhir/Patient/:id/$chronology          :id = an MPI record id, or a CHI
 *   GET /fhir/Patient/$chronology?identifier=<system>|<value>   any agency identifier or the CHI
 *
 * Parameters: `start`, `end` (dates, inclusive), `category` (comma-separated:
 * plan, assessment, service-request, alert, notable-event), `format` (json — the default, a
 * FHIR List, domain/chronology.ts — or pdf / html, printable). Plans,
 * assessments, requests and notable events (Observations) come through the one access check (only what the
 * caller may see); an alert is shown to the agency that raised it and those it
 * went to (read through the alerts service's view).
 */
import type { Request, Response } from 'express';
import type { Reference } from 'fhir/r4.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond, respondDocument } from '../../../shared/fhir/express.js';
import { badRequest, notFound } from '../../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { renderDocument } from '../../../shared/render/render.js';
import type { AlertHistory } from '../../alerts/view.js';
import type { PlansContext } from '../context.js';
import { PLANS_TYPES, type AccessDecision, type Caller, type PlansType } from '../domain/access.js';
import { writerAgencyOf } from '../domain/authoring.js';
import {
  agenciesOf,
  boundOf,
  chronologyList,
  CHRONOLOGY_CATEGORIES,
  eventsOfVersions,
  filterEvents,
  type ChronologyCategory,
  type ChronologyEvent,
  type ChronologyFilter,
} from '../domain/chronology.js';
import { chronologyCriteria } from '../domain/criteria.js';
import { printableAbout, chronologyDocument } from '../domain/printable.js';
import { describeKey, keyOfText, type SubjectKey } from '../domain/subject.js';
import { notRegistered, personOfKey } from '../subjects.js';
import { callerOf } from './common.js';
import { alertSendersWithheld, mayAskAbout } from '../consent-access.js';
import { personOfPatientReference } from '../consent-facts.js';
import { isNamedProfessional } from './read.js';
import { printFormatOf } from './render.js';

const CATEGORY_OF_TYPE: Readonly<Record<PlansType, ChronologyCategory>> = {
  CarePlan: 'plan',
  QuestionnaireResponse: 'assessment',
  ServiceRequest: 'service-request',
  Observation: 'notable-event',
};

export function chronology(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$chronology', action: 'R', dataCategory: 'chronology', purpose: 'care-planning' });
    const named = subjectKeyOf(req);
    const format = req.query.format === undefined || req.query.format === 'json' ? 'json' : printFormatOf(req);
    const filter = filterOf(req);
    const caller = await callerOf(res, ctx);
    const { key, personId } = await personAskedAbout(ctx, named, caller);
    describeExchange(res, { subject: `Person/${personId}`, entities: [{ reference: `Person/${personId}`, role: 'subject' }] });
    if (!(await mayAskAbout(ctx, caller.patient, personId))) {
      // A person asking about someone else is answered as if no one were registered: never whether they are.
      describeExchange(res, { outcomeDescription: "denied, answered as an unknown person: a person's own access reaches their own record only" });
      throw notFound(`No chronology: ${notRegistered(key)}`);
    }

    const wanted = (category: ChronologyCategory) => !filter.categories || filter.categories.has(category);
    const decisions: AccessDecision[] = [];
    const perType = await Promise.all(
      PLANS_TYPES.filter((type) => wanted(CATEGORY_OF_TYPE[type])).map(async (type) => {
        const found = await ctx.store.aboutPerson(caller, type, personId);
        return found.flatMap(({ versions, decision }) => {
          decisions.push(decision);
          const author = versions[versions.length - 1];
          return eventsOfVersions(versions, (v) => writerAgencyOf(v) ?? writerAgencyOf(author ?? v) ?? 'unknown');
        });
      }),
    );
    const alertEvents = wanted('alert') ? await alertEventsFor(ctx, caller, personId, await ctx.alerts.alertsAbout(personId)) : [];
    const events = filterEvents([...perType.flat(), ...alertEvents], filter);
    const byNpLp = await isNamedProfessional(ctx, caller, personId);
    const permits = decisions.filter((d): d is AccessDecision & { permit: true } => d.permit);
    const criteria = [...chronologyCriteria(agenciesOf(events).length, byNpLp, permits), ...(caller.patient && events.length > 0 ? ['PC-L5'] : [])];
    const now = new Date();
    const list = chronologyList(subjectReference(key), events, now);
    if (format === 'json') {
      await respond(req, res, 200, list, { criteria });
      return;
    }
    const rendered = await renderDocument(chronologyDocument(list, printableAbout(describeKey(key)), now), format, now);
    await respondDocument(req, res, 200, rendered.body, rendered.contentType, { criteria: [...criteria, 'AP-L2'] });
  };
}

/**
 * The index Person the chronology is of: the one the request names, or — when it names
 * no one and the person themselves asks (a patient token) — the person the token is for.
 */
async function personAskedAbout(ctx: PlansContext, named: SubjectKey | undefined, caller: Caller): Promise<{ key: SubjectKey; personId: string }> {
  if (named) {
    const found = await personOfKey(ctx.mpi, named);
    if ('problem' in found) throw notFound(`No chronology: ${found.problem}`);
    return { key: named, personId: found.personId };
  }
  if (!caller.patient) throw badRequest(NAME_THE_PERSON, 'identifier');
  const key = keyOfText(caller.patient);
  const personId = await personOfPatientReference(ctx, caller.patient);
  if (!key || personId === undefined) throw notFound(`No chronology: the index knows no one as ${caller.patient}, the person this token is for`);
  return { key, personId };
}

const NAME_THE_PERSON = 'Name the person: identifier=<system>|<value> (an agency identifier or the CHI)';

/**
 * The person the request names: the path's id (an MPI record id or a CHI), or
 * `identifier=<system>|<value>`; undefined when it names no one (a person's own token then speaks for them).
 */
function subjectKeyOf(req: Request): SubjectKey | undefined {
  const id = req.params.id;
  const identifier = req.query.identifier;
  if (typeof id === 'string') {
    const key = keyOfText(id);
    if (!key || key.kind === 'agency') throw badRequest(`Patient/${id} is neither an MPI record id nor a CHI: use Patient/$chronology?identifier=<system>|<value>`);
    return key;
  }
  if (identifier === undefined) return undefined;
  if (typeof identifier !== 'string' || !identifier.includes('|')) throw badRequest(NAME_THE_PERSON, 'identifier');
  const key = keyOfText(identifier);
  if (!key) throw badRequest(`identifier ${identifier} is neither an agency's patient identifier nor a CHI`, 'identifier');
  return key;
}

function filterOf(req: Request): ChronologyFilter {
  const text = (name: string): string | undefined => {
    const value = req.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw badRequest(`Give ${name} once`, name);
    return value;
  };
  const start = text('start');
  const end = text('end');
  for (const [name, value] of [['start', start], ['end', end]] as const) {
    if (value !== undefined && boundOf(value, name) === undefined) throw badRequest(`${name}=${value} is not a date (YYYY-MM-DD) or a date-time with a zone`, name);
  }
  // A period that ends before it starts holds nothing: said, rather than answered as an empty timeline (a swapped pair would read as "nothing happened").
  if (start !== undefined && end !== undefined && boundOf(start, 'start')! > boundOf(end, 'end')!) {
    throw badRequest(`start=${start} is after end=${end}: no event can be in that period`, 'start');
  }
  const category = text('category');
  let categories: Set<ChronologyCategory> | undefined;
  if (category !== undefined) {
    const asked = category.split(',').map((c) => c.trim());
    const unknown = asked.filter((c) => !(CHRONOLOGY_CATEGORIES as readonly string[]).includes(c));
    if (unknown.length > 0) throw badRequest(`Unknown category ${unknown.join(', ')}: use ${CHRONOLOGY_CATEGORIES.join(', ')}`, 'category');
    categories = new Set(asked as ChronologyCategory[]);
  }
  return { ...(start ? { start } : {}), ...(end ? { end } : {}), ...(categories ? { categories } : {}) };
}

/**
 * The alerts a caller may see in the chronology: the ones its agency raised or received, less
 * those a Consent withholds from it (consent can withhold alerts, never widen them). A person's
 * own chronology shows their plans, assessments and requests, not the agencies' alerts.
 */
async function alertEventsFor(ctx: PlansContext, caller: Caller, personId: string, alerts: readonly AlertHistory[]): Promise<ChronologyEvent[]> {
  if (caller.patient) return [];
  const agency = await ctx.isp.agency(caller.agency);
  const received = alerts.filter((a) => a.sender === caller.agency || a.recipients.includes(caller.agency));
  const withheld = agency
    ? await alertSendersWithheld(ctx.consents, {
        personId,
        agency: { id: agency.id, type: agency.type },
        purpose: caller.purpose,
        senders: [...new Set(received.filter((a) => a.sender !== caller.agency).map((a) => a.sender))],
        now: new Date(),
      })
    : new Set<string>();
  return received
    .filter((a) => !withheld.has(a.sender))
    .flatMap((a): ChronologyEvent[] => {
      const reference = `${ctx.alertsBaseUrl}/Flag/${a.flagId}`;
      const what = `${a.alertCategory} alert${a.text ? `: ${a.text}` : ''}`;
      return [
        { date: a.raisedAt, kind: 'alert-raised', category: 'alert', agency: a.sender, reference, summary: `${what} — raised` },
        ...(a.closedAt ? [{ date: a.closedAt, kind: 'alert-closed' as const, category: 'alert' as const, agency: a.sender, reference, summary: `${what} — closed` }] : []),
      ];
    });
}

function subjectReference(key: SubjectKey): Reference {
  switch (key.kind) {
    case 'record':
      return { reference: `Patient/${key.recordId}` };
    case 'chi':
      return { identifier: { system: IdentifierSystems.chi, value: key.value } };
    case 'agency':
      return { identifier: { system: `${IdentifierSystems.agencyPatientPrefix}/${key.agency}`, value: key.value } };
  }
}
