/**
 * The access check of every read path, batched: for the records one request
 * touches, the ISP's decision for each flow (author agency → caller agency,
 * the record's category, the caller's purpose) from one ISP snapshot, and
 * consent's verdicts from one `ConsentSource` call; `domain/access.ts` decides
 * each. The contract with consent: README "Plans" and /work/notes/plans-access.md.
 */
import type { IspFlowDecision, IspRegistry, IspSnapshot } from '../../shared/isp/registry.js';
import { decideFlow } from '../../shared/isp/registry.js';
import { breakGlassRefusal } from './domain/consent-decision.js';
import { decideAccess, ownBasis, type AccessAction, type AccessDecision, type AccessRecord, type Caller, type ConsentVerdict } from './domain/access.js';

/** Where consent's verdicts come from (one call per request; load each person's Consents once, never per record). */
export interface ConsentSource {
  /** `snapshot`: the ISP snapshot the access check already reads for this request (one revision check per request, not two). */
  verdicts(caller: Caller, records: readonly AccessRecord[], action: AccessAction, snapshot?: Promise<IspSnapshot>): Promise<readonly (ConsentVerdict | undefined)[]>;
}

/** No consent enforcement: consent has no say on any record, the ISP alone decides. */
export const NO_CONSENT: ConsentSource = {
  verdicts: (_caller, records) => Promise.resolve(records.map(() => undefined)),
};

export class PlansAccess {
  constructor(
    private readonly isp: IspRegistry,
    private readonly consent: ConsentSource = NO_CONSENT,
  ) {}

  /** Why this agency may not break the glass (its type, as the directory holds it now; a reason stated), or undefined when it may. */
  async breakGlassRefusal(agencyId: string, reason: string): Promise<string | undefined> {
    const snapshot = await this.isp.snapshot();
    const agencyType = snapshot.agencies.get(agencyId)?.type ?? 'partnership';
    return breakGlassRefusal({ kind: 'agency', agencyId, agencyType }, reason)?.detail;
  }

  /** One decision per record, in order. */
  async decide(caller: Caller, records: readonly AccessRecord[], action: AccessAction, now: Date = new Date()): Promise<AccessDecision[]> {
    if (records.length === 0) return [];
    const needsFlow = records.some((r) => ownBasis(caller, r) === undefined);
    // Read once, shared with consent (which reads the person's Consents meanwhile): the ISP as it is now.
    const current = needsFlow || this.consent !== NO_CONSENT ? this.isp.snapshot() : undefined;
    const [snapshot, verdicts] = await Promise.all([needsFlow ? current : undefined, this.consent.verdicts(caller, records, action, current)]);
    const flows = new Map<string, IspFlowDecision>();
    return records.map((record, i) => {
      let isp: IspFlowDecision | 'same-agency' = 'same-agency';
      if (snapshot && ownBasis(caller, record) === undefined) {
        const key = `${record.authorAgency} ${record.category}`;
        let flow = flows.get(key);
        if (!flow) {
          flow = decideFlow(snapshot, { senderAgencyId: record.authorAgency, receiverAgencyId: caller.agency, category: record.category, purpose: caller.purpose }, now);
          flows.set(key, flow);
        }
        isp = flow;
      }
      return decideAccess({ caller, record, action, isp, consent: verdicts[i] });
    });
  }
}
