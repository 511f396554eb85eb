/**
 * A FHIR request's body, validated: a resource of the type a route expects, or
 * the Parameters of an operation (read with parameters.ts). Validation is the
 * R4 validator (validate.ts); a large body is validated on the service's
 * validation pool so the event loop keeps serving meanwhile.
 */
import type { Request } from 'express';
import type { Parameters, Resource } from 'fhir/r4.js';
import { bodyBytesOf, JSON_TYPES, rawBodyOf } from './express.js';
import { invalidResource } from './outcome.js';
import { readParameters, type OperationArguments, type OperationDeclaration } from './parameters.js';
import { invalidityError } from './validate.js';
import type { ValidationPool } from './validation-pool.js';

/** The body as a valid R4 `type` (422 listing every problem otherwise). */
export async function validBody<T extends Resource>(req: Request, type: T['resourceType'], pool: ValidationPool): Promise<T> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw invalidResource(`Send a ${type} resource (a JSON object) as the body`);
  }
  // A JSON body kept byte for byte (`keepRawBody`) goes to a validation thread as text: cheaper than cloning the object.
  const raw = req.is(JSON_TYPES) ? rawBodyOf(req) : undefined;
  const validity = await pool.validate(req.body, type, { bytes: bodyBytesOf(req), ...(raw ? { json: raw.toString('utf8') } : {}) });
  if (!validity.valid) throw invalidityError(validity);
  return req.body as T;
}

/**
 * The operation's arguments from a Parameters body. `bodyOptional`: an
 * operation whose parameters are all optional may be posted with no body.
 */
export async function operationArguments<O extends OperationDeclaration>(
  req: Request,
  operation: O,
  pool: ValidationPool,
  options: { bodyOptional?: boolean } = {},
): Promise<OperationArguments<O>> {
  // No body at all, or a zero-length one sent with a JSON Content-Type (curl -X POST -H 'Content-Type: …', the
  // benches' clients): both are "no parameters", not a malformed resource.
  const empty = req.body === undefined || bodyBytesOf(req) === 0;
  const params: Parameters = options.bodyOptional && empty ? { resourceType: 'Parameters' } : await validBody<Parameters>(req, 'Parameters', pool);
  return readParameters(operation, params);
}
