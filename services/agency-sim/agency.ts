/** The agency a simulator path names: a known agency of the directory, or a 404. */
import type { Request } from 'express';
import { notFound } from '../../shared/fhir/outcome.js';
import type { AgencySimContext } from './context.js';

const AGENCY_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export async function simulatedAgency(ctx: AgencySimContext, req: Request): Promise<string> {
  const id = req.params.agency;
  if (typeof id !== 'string' || !AGENCY_ID.test(id)) throw notFound('No such agency');
  const org = await ctx.directory.organization(id);
  // A partnership (no partOf) has no system of its own to simulate.
  if (!org || org.partOf === undefined) throw notFound(`No agency ${id} in the directory`);
  return id;
}
