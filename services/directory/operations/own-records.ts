/** Endpoint and PractitionerRole writes: an agency maintains only its own records (statutory partners: every agency's). */
import type { Endpoint, PractitionerRole } from 'fhir/r4.js';
import { forbidden } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import type { WriteContext } from '../../../shared/fhir/rest/resource-routes.js';
import type { DirectoryContext } from '../context.js';
import { mayWriteRecord } from '../domain/record-ownership.js';

export function ownRecordsOnly<T extends PractitionerRole | Endpoint>(ctx: DirectoryContext) {
  return async (resource: T, { auth, previous, res }: WriteContext<T>): Promise<T> => {
    const caller = await ctx.registry.agency(auth.agency);
    if (!mayWriteRecord({ agency: auth.agency, type: caller?.type }, resource, previous)) {
      refusedBySecurityModel(res);
      throw forbidden(`${auth.agency} may change only its own ${resource.resourceType} records`);
    }
    return resource;
  };
}
