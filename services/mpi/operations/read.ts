/**
 * Reads: `GET /fhir/Person/{id}`, and an agency record `GET /fhir/Patient/{id}`
 * with `_history` and `vread`. A record is readable by its own agency, and by
 * others only where the ISP lets demographics flow to them; otherwise 403.
 */
import type { Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { historyBundle } from '../../../shared/fhir/bundle.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { forbidden, notFound } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { agencyOfRecord } from '../domain/person.js';
import { Persons } from '../persons.js';
import type { MpiContext } from '../context.js';
import { REGISTRATION_EXCHANGE } from './register.js';

export function readPerson(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: 'read', action: 'R', subject: `Person/${id}`, ...REGISTRATION_EXCHANGE });
    const person = await persons.read(id, authContext(res).agency, await ctx.partnership.snapshot());
    await respond(req, res, 200, person, { entities: [{ reference: `Person/${id}`, role: 'subject' }], criteria: ['MI-L4'] });
  };
}

async function readableRecord(ctx: MpiContext, res: Response, id: string): Promise<Patient> {
  const record = await ctx.store.getRecord(id);
  if (!record) throw notFound(`Patient/${id} is not known`);
  const owner = agencyOfRecord(record);
  const reader = authContext(res).agency;
  if (owner !== reader) {
    const partnership = await ctx.partnership.snapshot();
    const flow = owner ? partnership.demographicsMayFlow(owner, reader) : { allowed: false as const, detail: 'the record has no owning agency' };
    if (!flow.allowed) {
      refusedBySecurityModel(res);
      describeExchange(res, { criteriaOnDenial: ['SI-L3', 'IM-L4'] });
      throw forbidden(`The ISP does not let ${owner}'s demographics flow to ${reader}: ${flow.detail}`);
    }
  }
  return record;
}

export function readPatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: 'read', action: 'R', subject: `Patient/${id}`, ...REGISTRATION_EXCHANGE });
    const record = await readableRecord(ctx, res, id);
    await respond(req, res, 200, record, { entities: [{ reference: `Patient/${id}`, role: 'subject' }], criteria: ['MI-L4'] });
  };
}

export function patientHistory(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: 'history-instance', action: 'R', subject: `Patient/${id}`, ...REGISTRATION_EXCHANGE });
    await readableRecord(ctx, res, id);
    const versions = await ctx.store.getRecordHistory(id);
    await respond(req, res, 200, historyBundle(versions, ctx.baseUrl), { entities: [{ reference: `Patient/${id}`, role: 'subject' }], criteria: ['MI-L4'] });
  };
}

export function vreadPatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    const vid = String(req.params.vid);
    describeExchange(res, { subtype: 'vread', action: 'R', subject: `Patient/${id}`, ...REGISTRATION_EXCHANGE });
    await readableRecord(ctx, res, id);
    const version = await ctx.store.getRecordVersion(id, vid);
    if (!version) throw notFound(`Patient/${id} has no version ${vid}`);
    await respond(req, res, 200, version, { entities: [{ reference: `Patient/${id}/_history/${vid}`, role: 'subject' }], criteria: ['MI-L4'] });
  };
}
