/** Query parameters the alerts operations share. */
import { badRequest } from '../../../shared/fhir/outcome.js';

/** A whole-number query parameter within bounds (`fallback` when absent); 400 naming it otherwise. */
export function wholeNumberParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw badRequest(`${name} must be a whole number`, name);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${name} must be between ${min} and ${max}`, name);
  return n;
}
