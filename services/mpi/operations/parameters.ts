/** Reading FHIR `Parameters` bodies of MPI operations, with 400/422 that name the parameter. */
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { invalidResource } from '../../../shared/fhir/outcome.js';

export function parametersBody(body: unknown, operation: string): Parameters {
  if (!body || typeof body !== 'object' || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    throw invalidResource(`${operation} expects a Parameters resource`, 'resourceType');
  }
  return body as Parameters;
}

export function param(p: Parameters, name: string): ParametersParameter | undefined {
  return p.parameter?.find((x) => x.name === name);
}

export function codeParam(p: Parameters, name: string, allowed: readonly string[]): string {
  const value = param(p, name)?.valueCode ?? param(p, name)?.valueString;
  if (!value || !allowed.includes(value)) {
    throw invalidResource(`Parameter '${name}' must be one of: ${allowed.join(', ')}`, `Parameters.parameter.where(name='${name}')`);
  }
  return value;
}

/** A reference parameter as `Type/id` (valueReference or valueString); 422 when missing or of another type. */
export function referenceParam(p: Parameters, name: string, type: string): string {
  const raw = param(p, name)?.valueReference?.reference ?? param(p, name)?.valueString;
  const id = raw?.startsWith(`${type}/`) ? raw.slice(type.length + 1) : undefined;
  if (!id || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
    throw invalidResource(`Parameter '${name}' must reference a ${type} (${type}/<id>)`, `Parameters.parameter.where(name='${name}')`);
  }
  return id;
}
