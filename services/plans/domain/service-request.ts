/**
 * A request for assistance (ServiceRequest) and its life: draft → active →
 * completed, or revoked from draft or active. The requesting agency drafts,
 * sends (activates), edits and revokes it; the assigned agency (performer)
 * completes it. Completed and revoked are final. Pure.
 */
import type { ServiceRequest } from 'fhir/r4.js';
import { organizationIdOf } from './access.js';

export type RequestStatus = 'draft' | 'active' | 'completed' | 'revoked';
export const REQUEST_STATUSES: readonly RequestStatus[] = ['draft', 'active', 'completed', 'revoked'];

/** Who is changing the request, relative to it. */
export type RequestRole = 'requester' | 'performer';

/** Allowed moves, by who may make them. A status kept as it is is an edit (allowed while not final). */
const MOVES: Readonly<Record<RequestStatus, Partial<Record<RequestStatus, readonly RequestRole[]>>>> = {
  draft: { draft: ['requester'], active: ['requester'], revoked: ['requester'] },
  active: { active: ['requester'], completed: ['performer'], revoked: ['requester'] },
  completed: {},
  revoked: {},
};

export type TransitionCheck = { readonly ok: true } | { readonly ok: false; readonly status: 409 | 422 | 403; readonly reason: string };

/** Whether a request may be created with this status (draft or active: a request starts its life there). */
export function checkInitialStatus(status: string): TransitionCheck {
  if (status === 'draft' || status === 'active') return { ok: true };
  return { ok: false, status: 422, reason: `A request for assistance starts as draft or active, not ${status}` };
}

/** Whether `role` may move a request from `from` to `to`. */
export function checkTransition(from: string, to: string, role: RequestRole): TransitionCheck {
  if (!isRequestStatus(to)) return { ok: false, status: 422, reason: `${to} is not a status of a request for assistance here (draft, active, completed, revoked)` };
  if (!isRequestStatus(from)) return { ok: false, status: 409, reason: `The request is ${from}, which this service does not move on` };
  if (from === 'completed' || from === 'revoked') return { ok: false, status: 409, reason: `The request is ${from}: it can no longer change` };
  const allowed = MOVES[from][to];
  if (!allowed) return { ok: false, status: 422, reason: `A request for assistance cannot go from ${from} to ${to}` };
  if (!allowed.includes(role)) {
    const who = allowed.join(' or ');
    return { ok: false, status: 403, reason: `Only the ${who === 'requester' ? 'requesting agency' : 'assigned agency (performer)'} may ${from === to ? 'edit' : `move`} a ${from} request${from === to ? '' : ` to ${to}`}` };
  }
  return { ok: true };
}

function isRequestStatus(status: string): status is RequestStatus {
  return (REQUEST_STATUSES as readonly string[]).includes(status);
}

/** The assigned agency: the request's one performer, an Organization; undefined when it names none or several. */
export function performerAgencyOf(request: Pick<ServiceRequest, 'performer'>): string | undefined {
  const performers = request.performer ?? [];
  if (performers.length !== 1) return undefined;
  return organizationIdOf(performers[0]?.reference);
}
