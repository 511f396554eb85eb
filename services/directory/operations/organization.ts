/** Organization writes (create/update): a registered agency key must be a usable public key. */
import type { Organization } from 'fhir/r4.js';
import { invalidIssues } from '../../../shared/fhir/outcome.js';
import type { ResourceRouteHooks } from '../../../shared/fhir/rest/resource-routes.js';
import { organizationProblems } from '../domain/organization-rules.js';

export function organizationRules(): ResourceRouteHooks<Organization> {
  return {
    prepareWrite: (org) => {
      const problems = organizationProblems(org);
      if (problems.length > 0) throw invalidIssues(problems);
      return org;
    },
  };
}
