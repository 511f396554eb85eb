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

export function capabilitiesHandler(statement: CapabilityStatement) {
  const answered = new WeakMap<Application, CapabilityStatement>();
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'capabilities', action: 'R' });
    let answer = answered.get(req.app);
    if (!answer) {
      answer = withTokenEndpoint(statement, req.app.locals.smart as SmartEndpoints | undefined);
      answered.set(req.app, answer);
    }
    await respond(req, res, 200, answer);
  };
}

function withTokenEndpoint(statement: CapabilityStatement, smart: SmartEndpoints | undefined): CapabilityStatement {
  if (!smart) return statement;
  return {
    ...statement,
    rest: statement.rest?.map((rest) => ({ ...rest, security: { ...rest.security, extension: [...(rest.security?.extension ?? []), oauthUrisExtension(smart)] } })),
  };
}
