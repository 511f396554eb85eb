/**
 * PractitionerRole: an agency maintains only its own staff's roles; reading
 * one with contact details is a Named Person / Lead Professional contact
 * look-up (PD-L2/PD-L3).
 */
import type { PractitionerRole } from 'fhir/r4.js';
import type { ResourceRouteHooks } from '../../../shared/fhir/rest/resource-routes.js';
import type { DirectoryContext } from '../context.js';
import { NP_LP_CATEGORY, NP_LP_LOOKUP } from './care-team.js';
import { ownRecordsOnly } from './own-records.js';

export function practitionerRoleRules(ctx: DirectoryContext): ResourceRouteHooks<PractitionerRole> {
  return {
    prepareWrite: ownRecordsOnly(ctx),
    describeRead: (role) => ({
      dataCategory: NP_LP_CATEGORY,
      criteria: (role.telecom ?? []).length > 0 ? NP_LP_LOOKUP : [],
    }),
  };
}
