/** Helpers for tests of refusals (shared by every service's tests). Not used by the services. */

/**
 * An answer with the resource id it names replaced, to compare a refusal with the answer
 * to an unknown id: a resource the caller may not see must be answered exactly as one
 * that does not exist (same status, same OperationOutcome but for the id).
 */
export function answerWithoutId(res: { status: number; body: unknown }, id: string): { status: number; body: string } {
  return { status: res.status, body: JSON.stringify(res.body).replaceAll(id, '<id>') };
}
