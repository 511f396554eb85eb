/** The agency a simulator path names: a known agency of the directory, or a 404. */
import type { Request } from 'express';
import { notFound } from '../../shared/fhir/outcome.js';
import type { AgencySimContext } from './context.js';

const AGENCY_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export async function simulatedAgency(ctx: AgencySimContext, req: Request): Promise<string> {
  const [agency] = await simulatedAgencyWith(ctx, req, () => Promise.resolve(undefined));
  return agency;
}

/**
 * `simulatedAgency` and a read of the agency's own state (`read`, given the id once it has the shape of one) made
 * together: one wait for both instead of one after the other, and both commands in one socket write (a delivery's
 * Organization and behaviour: one write of the request's four — the answer, these, its one store script — less). The
 * read's value is used only for a known agency.
 */
export async function simulatedAgencyWith<T>(
  ctx: Pick<AgencySimContext, 'directory' | 'sentTogether'>,
  req: Pick<Request, 'params'>,
  read: (agency: string) => Promise<T>,
): Promise<[string, T]> {
  const id = req.params.agency;
  if (typeof id !== 'string' || !AGENCY_ID.test(id)) throw notFound('No such agency');
  const [org, value] = await Promise.all(ctx.sentTogether(() => [ctx.directory.organization(id), read(id)] as const));
  // A partnership (no partOf) has no system of its own to simulate.
  if (!org || org.partOf === undefined) throw notFound(`No agency ${id} in the directory`);
  return [id, value];
}
