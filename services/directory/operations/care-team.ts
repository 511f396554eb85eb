/**
 * CareTeam: `CareTeam?subject=` is the Named Person / Lead Professional
 * look-up (PD-L2/PD-L3); the named PractitionerRoles come along as includes.
 */
import type { CareTeam, PractitionerRole } from 'fhir/r4.js';
import type { ResourceRouteHooks } from '../../../shared/fhir/rest/resource-routes.js';
import type { DirectoryContext } from '../context.js';
import { namedPractitionerRoleIds, namedProfessionalsOf } from '../domain/named-professionals.js';

/** PD-L2/PD-L3: Named Person / Lead Professional contact details held in a directory and looked up electronically. */
export const NP_LP_LOOKUP = ['PD-L2', 'PD-L3'];
export const NP_LP_CATEGORY = 'np-lp-contact';

export function careTeamRules(ctx: DirectoryContext): ResourceRouteHooks<CareTeam> {
  return {
    describeRead: (team) => careTeamLookup([team], ctx.now()),
    describeSearch: (result) => careTeamLookup(result.resources, ctx.now()),
    searchIncludes: async (teams) => {
      const ids = namedPractitionerRoleIds(teams, ctx.now());
      return (await ctx.store.readMany('PractitionerRole', ids)).filter((r): r is PractitionerRole => r !== undefined);
    },
  };
}

/** A CareTeam look-up: about whom, and whether it found a Named Person / Lead Professional. */
function careTeamLookup(teams: readonly CareTeam[], now: Date) {
  const subjects = [...new Set(teams.map((t) => t.subject?.reference).filter((s): s is string => s !== undefined))];
  const found = teams.some((t) => namedProfessionalsOf(t, now).length > 0);
  return {
    ...(subjects.length === 1 ? { subject: subjects[0] } : {}),
    dataCategory: NP_LP_CATEGORY,
    criteria: found ? NP_LP_LOOKUP : [],
  };
}
