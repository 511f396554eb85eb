/**
 * Contract writes and reads: a Contract must be a readable ISP (422
 * otherwise), its `status` follows the signatures, and reading one shows
 * IM-L3 (the partnership's ISP held and shared electronically).
 */
import type { Contract } from 'fhir/r4.js';
import type { ResourceRouteHooks } from '../../../shared/fhir/rest/resource-routes.js';
import { parseIspContract } from '../../../shared/isp/contract.js';
import type { DirectoryContext } from '../context.js';

export function contractRules(ctx: DirectoryContext): ResourceRouteHooks<Contract> {
  return {
    prepareWrite: async (contract) => {
      parseIspContract(contract);
      // `status` is a hint for readers (never signed, never trusted): keep it in step with what verifies now.
      if (contract.status === undefined || contract.status === 'executed' || contract.status === 'offered') {
        const { allPartnersSigned } = await ctx.registry.verify(contract);
        return { ...contract, status: allPartnersSigned ? 'executed' : 'offered' };
      }
      return contract;
    },
    describeRead: () => ({ criteria: ['IM-L3'] }),
  };
}
