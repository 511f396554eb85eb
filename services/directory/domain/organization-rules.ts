/**
 * What the directory requires of an Organization beyond FHIR's own rules: a
 * registered agency key must be a usable public signing key, and never carry a
 * private part (a private key in the directory would be readable by every
 * agency). Pure.
 */
import type { Organization, OperationOutcomeIssue } from 'fhir/r4.js';
import { keyObjectFromJwk } from '../../../shared/auth/keys.js';
import { outcome } from '../../../shared/fhir/outcome.js';
import { Extensions } from '../../../shared/fhir/systems.js';

/** JWK members that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Every problem with the Organization's registered key, each pointing at the extension; empty when fine. */
export function organizationProblems(org: Organization): OperationOutcomeIssue[] {
  const problems: OperationOutcomeIssue[] = [];
  (org.extension ?? []).forEach((extension, i) => {
    if (extension.url !== Extensions.agencyPublicJwk) return;
    const expression = `Organization.extension[${i}].valueString`;
    const problem = (text: string) => problems.push(...outcome('invalid', text, { expression: [expression] }).issue);
    let jwk: unknown;
    try {
      jwk = JSON.parse(extension.valueString ?? '');
    } catch {
      problem('The agency public key must be a JWK written as JSON');
      return;
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      problem('The agency public key must be a JWK (a JSON object)');
      return;
    }
    const privateParts = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (privateParts.length > 0) {
      problem(`The agency key must be the public half only; remove ${privateParts.join(', ')} (and replace the key: it has been disclosed)`);
      return;
    }
    try {
      keyObjectFromJwk(jwk);
    } catch (err) {
      problem(`The agency public key is not usable: ${(err as Error).message}`);
    }
  });
  return problems;
}
