/**
 * `GET /fhir/metadata` for every service: its CapabilityStatement, built once
 * at start-up, answered without a token (clients read it to learn how to get
 * one) and audited like any read.
 */
import type { Request, Response } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import { describeExchange } from '../exchange-context.js';
import { respond } from '../express.js';

export function capabilitiesHandler(statement: CapabilityStatement) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'capabilities', action: 'R' });
    await respond(req, res, 200, statement);
  };
}
