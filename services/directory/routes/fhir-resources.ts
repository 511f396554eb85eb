/**
 * The directory's FHIR resources: generic create/read/vread/update/_history/search
 * (shared/fhir/rest/resource-routes.ts, scopes `system/<Type>.read|write`), with
 * what is particular to each type:
 *
 *   Organization      a registered agency key must be a usable public key
 *   Endpoint          an agency maintains only its own endpoints
 *   Practitioner      —
 *   PractitionerRole  an agency maintains only its own staff's roles; reading one is an NP/LP contact look-up (PD-L2/L3)
 *   CareTeam          `CareTeam?subject=` is the NP/LP look-up (PD-L2/L3): the named PractitionerRoles come along as includes
 *   Contract          must be a readable ISP (422 otherwise); reading it shows IM-L3; `status` follows the signatures
 */
import { Router, type Response } from 'express';
import type { CareTeam, Contract, Endpoint, PractitionerRole } from 'fhir/r4.js';
import { forbidden, invalidIssues } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { resourceRoutes, type WriteContext } from '../../../shared/fhir/rest/resource-routes.js';
import { parseIspContract } from '../../../shared/isp/contract.js';
import type { SearchResult } from '../../../shared/store/resource-store.js';
import type { DirectoryContext } from '../context.js';
import { namedPractitionerRoleIds, namedProfessionalsOf } from '../domain/named-professionals.js';
import { organizationProblems } from '../domain/organization-rules.js';
import { mayWriteRecord } from '../domain/record-ownership.js';

/** PD-L2/PD-L3: Named Person / Lead Professional contact details held in a directory and looked up electronically. */
const NP_LP_LOOKUP = ['PD-L2', 'PD-L3'];
const NP_LP_CATEGORY = 'np-lp-contact';

export function fhirResourceRoutes(ctx: DirectoryContext): Router {
  const common = { store: ctx.store, baseUrl: ctx.fhirBase, authenticate: ctx.authenticate, validation: ctx.validation };
  const router = Router();

  router.use(
    resourceRoutes({
      ...common,
      type: 'Organization',
      prepareWrite: (org) => {
        const problems = organizationProblems(org);
        if (problems.length > 0) throw invalidIssues(problems);
        return org;
      },
    }),
  );

  router.use(resourceRoutes({ ...common, type: 'Endpoint', prepareWrite: ownRecordsOnly(ctx) }));
  router.use(resourceRoutes({ ...common, type: 'Practitioner' }));

  router.use(
    resourceRoutes({
      ...common,
      type: 'PractitionerRole',
      prepareWrite: ownRecordsOnly(ctx),
      describeRead: (role: PractitionerRole) => ({
        dataCategory: NP_LP_CATEGORY,
        criteria: (role.telecom ?? []).length > 0 ? NP_LP_LOOKUP : [],
      }),
    }),
  );

  router.use(
    resourceRoutes({
      ...common,
      type: 'CareTeam',
      describeRead: (team: CareTeam) => careTeamLookup([team], ctx.now()),
      describeSearch: (result: SearchResult<CareTeam>) => careTeamLookup(result.resources, ctx.now()),
      searchIncludes: async (teams: readonly CareTeam[]) => {
        const ids = namedPractitionerRoleIds(teams, ctx.now());
        return (await ctx.store.readMany('PractitionerRole', ids)).filter((r): r is PractitionerRole => r !== undefined);
      },
    }),
  );

  router.use(
    resourceRoutes({
      ...common,
      type: 'Contract',
      prepareWrite: async (contract: Contract) => {
        parseIspContract(contract);
        // `status` is a hint for readers (never signed, never trusted): keep it in step with what verifies now.
        if (contract.status === undefined || contract.status === 'executed' || contract.status === 'offered') {
          const { allPartnersSigned } = await ctx.registry.verify(contract);
          return { ...contract, status: allPartnersSigned ? 'executed' : 'offered' };
        }
        return contract;
      },
      describeRead: () => ({ criteria: ['IM-L3'] }),
    }),
  );

  return router;
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

/** An agency maintains only its own PractitionerRoles and Endpoints (statutory partners: every agency's). */
function ownRecordsOnly<T extends PractitionerRole | Endpoint>(ctx: DirectoryContext) {
  return async (resource: T, { auth, previous, res }: WriteContext<T>): Promise<T> => {
    const caller = await ctx.registry.agency(auth.agency);
    if (!mayWriteRecord({ agency: auth.agency, type: caller?.type }, resource, previous)) {
      refuse(res, `${auth.agency} may change only its own ${resource.resourceType} records`);
    }
    return resource;
  };
}

function refuse(res: Response, text: string): never {
  refusedBySecurityModel(res);
  throw forbidden(text);
}
