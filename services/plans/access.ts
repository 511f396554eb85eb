/**
 * The access check of every read path, batched: for the records one request
 * touches, the ISP's decision for each flow (author agency → caller agency,
 * the record's category, the caller's purpose) from one ISP snapshot, and
 * consent's verdicts from one `ConsentSource` call; `domain/access.ts` decides
 * each. The contract with consent: README "Plans" and /work/notes/plans-access.md.
 */
import type { DataCategory, Purpose } from '../../shared/fhir/systems.js';
import { decideFlow, type IspFlowDecision, type IspRegistry, type IspSnapshot } from '../../shared/isp/registry.js';
import { breakGlassRefusal } from './domain/consent-decision.js';
import { decideAccess, ownBasis, type AccessAction, type AccessDecision, type AccessRecord, type Caller, type ConsentVerdict } from './domain/access.js';

/** Where consent's verdicts come from (one call per request; load each person's Consents once, never per record). */
export interface ConsentSource {
  /** `isp`: the ISP as the access check reads it for this request (one snapshot, each flow decided once for both). */
  verdicts(caller: Caller, records: readonly AccessRecord[], action: AccessAction, isp?: RequestIsp): Promise<readonly (ConsentVerdict | undefined)[]>;
}

/** No consent enforcement: consent has no say on any record, the ISP alone decides. */
export const NO_CONSENT: ConsentSource = {
  verdicts: (_caller, records) => Promise.resolve(records.map(() => undefined)),
};

/**
 * One request's view of the ISP: the snapshot read once for the request, each flow decided under it (the
 * decision is kept with the snapshot: `decideFlow`) — the access check and consent ask the same flows of the
 * same records.
 */
export class RequestIsp {
  constructor(
    readonly snapshot: Promise<IspSnapshot>,
    readonly now: Date,
  ) {}

  /** The flow's decision under `snapshot` (this request's, awaited). */
  flow(snapshot: IspSnapshot, senderAgencyId: string, receiverAgencyId: string, category: DataCategory, purpose: Purpose): IspFlowDecision {
    return decideFlow(snapshot, { senderAgencyId, receiverAgencyId, category, purpose }, this.now);
  }
}

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
    const isp = needsFlow || this.consent !== NO_CONSENT ? new RequestIsp(this.isp.snapshot(), now) : undefined;
    const [snapshot, verdicts] = await Promise.all([needsFlow ? isp?.snapshot : undefined, this.consent.verdicts(caller, records, action, isp)]);
    return records.map((record, i) => {
      const flow =
        snapshot && isp && ownBasis(caller, record) === undefined ? isp.flow(snapshot, record.authorAgency, caller.agency, record.category, caller.purpose) : 'same-agency';
      return decideAccess({ caller, record, action, isp: flow, consent: verdicts[i] });
    });
  }
}
