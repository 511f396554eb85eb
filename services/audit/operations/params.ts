/** Reading the log operations' query parameters: one value, a whole number, refused clearly otherwise. */
import { badRequest } from '../../../shared/fhir/outcome.js';

/** A single optional string parameter (a repeated one is refused). */
export function singleParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`Give ${name} once, as a single value`, name);
  return value;
}

/** A tree size or position: a whole number from 0 (optional). */
export function treeSizeParam(value: unknown, name: string): number | undefined {
  const text = singleParam(value, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw badRequest(`${name} must be a tree size: a whole number from 0 ("${text.slice(0, 40)}" is not)`, name);
  return Number(text);
}
