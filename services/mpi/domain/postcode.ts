/**
 * UK postcodes for matching. "EH1 1YZ": area EH, district EH1 (the outward code),
 * sector EH1 1, unit EH11YZ. Records give them in any case and spacing; people who
 * move nearby keep the area and often the district, so partial agreement is evidence.
 */

export interface Postcode {
  /** Upper case, no spaces ("EH11YZ"); for a non-UK code, its letters and digits. */
  readonly code: string;
  /** Length of the outward code (district) within `code`; 0 when the code is not a UK postcode. */
  readonly outwardLength: number;
}

const UK_POSTCODE = /^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$/;

export function parsePostcode(value: string): Postcode | undefined {
  const code = value.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (code.length === 0) return undefined;
  const uk = UK_POSTCODE.exec(code);
  return { code, outwardLength: uk ? uk[1]!.length : 0 };
}

/** Number of leading letters of a UK postcode (its area: "G", "EH", "KW"). */
export function areaLength(code: string): number {
  const second = code.charCodeAt(1);
  return second >= 65 && second <= 90 ? 2 : 1;
}

/** Is `a` the same as `b` on the first `n` characters? (Both at least `n` long.) */
export function samePrefix(a: string, b: string, n: number): boolean {
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}
