/**
 * What HTTP itself asks of a request's headers, checked by the shell before any route
 * (service-app.ts) so the refusal is an audited OperationOutcome like every other — Node
 * would otherwise answer a missing Host or an unknown Expect itself, with an empty body.
 */
import { badRequest, expectationFailed, type OperationOutcomeError } from '../fhir/outcome.js';

/** The request's headers as Node hands them over: raw names and values, alternating. */
export interface RawHeaders {
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
}

/** An HTTP/1.1 request without Host, or with Host twice (RFC 9112 §3.2: a 400). */
export function hostProblem(req: RawHeaders): OperationOutcomeError | undefined {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return badRequest('The request carries more than one Host header');
  if (hosts === 0 && req.httpVersion === '1.1') return badRequest('An HTTP/1.1 request must carry a Host header');
  return undefined;
}

/**
 * Headers that say how to read the request — what its body is (`Content-Type`) and who sends it
 * (`Authorization`) — given twice. Node keeps the first and drops the rest without a word, while a
 * proxy or another reader in front may keep the last: one request, two readings (RFC 9110 §5.3 lets
 * neither be repeated). A 400, as Host twice is.
 */
const SINGLE_HEADERS = new Map([
  ['content-type', 'Content-Type'],
  ['authorization', 'Authorization'],
]);

export function repeatedHeaderProblem(req: RawHeaders): OperationOutcomeError | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const spelled = SINGLE_HEADERS.get(name);
    if (spelled === undefined) continue;
    if (seen.has(name)) return badRequest(`The request carries more than one ${spelled} header; send it once`, spelled);
    seen.add(name);
  }
  return undefined;
}

/** An `Expect` other than `100-continue` (which Node answers itself before the request gets here). */
export function expectationProblem(expect: string | undefined): OperationOutcomeError | undefined {
  if (expect === undefined || expect.trim().toLowerCase() === '100-continue') return undefined;
  return expectationFailed(`Expect: ${expect.slice(0, 64)} is not supported; only 100-continue is`);
}
