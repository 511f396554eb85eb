/**
 * `GET /fhir/metadata` for every service: its CapabilityStatement, built once
 * at start-up, answered without a token (clients read it to learn how to get
 * one) and audited like any read. Where the service shell knows the hub's token
 * endpoint, `rest.security` names it (SMART's `oauth-uris`), so a client that
 * reads only the CapabilityStatement still finds it.
 */
import type { Application, Request, Response } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import { oauthUrisExtension, type SmartEndpoints } from '../../auth/smart-configuration.js';
import { describeExchange } from '../exchange-context.js';
import { respond } from '../express.js';

/** Marks the metadata handler with the statement it answers, so the shell can read what the service declares (shared/http/compartment.ts). */
const STATEMENT = Symbol('CapabilityStatement');

/** The statement a route handler answers, when it is `capabilitiesHandler`'s (or `handler()` around it). */
export function statementOf(handle: unknown): CapabilityStatement | undefined {
  return typeof handle === 'function' ? ((handle as unknown as Record<symbol, unknown>)[STATEMENT] as CapabilityStatement | undefined) : undefined;
}

export function capabilitiesHandler(statement: CapabilityStatement) {
  const answered = new WeakMap<Application, CapabilityStatement>();
  const answer = async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'capabilities', action: 'R' });
    let answer = answered.get(req.app);
    if (!answer) {
      answer = withTokenEndpoint(statement, req.app.locals.smart as SmartEndpoints | undefined);
      answered.set(req.app, answer);
    }
    await respond(req, res, 200, answer);
  };
  return declaring(statement, answer);
}

/** Marks a handler that answers `statement` (or a variant of it, as the MPI's names its model in use). */
export function declaring<F extends object>(statement: CapabilityStatement, handle: F): F {
  return Object.assign(handle, { [STATEMENT]: statement });
}

function withTokenEndpoint(statement: CapabilityStatement, smart: SmartEndpoints | undefined): CapabilityStatement {
  if (!smart) return statement;
  return {
    ...statement,
    rest: statement.rest?.map((rest) => ({ ...rest, security: { ...rest.security, extension: [...(rest.security?.extension ?? []), oauthUrisExtension(smart)] } })),
  };
}
