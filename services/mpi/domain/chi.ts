/**
 * CHI number (Community Health Index) validation.
 *
 * A CHI is ten digits: DDMMYY date of birth, two more digits, a sex digit (odd male,
 * even female) and a check digit. Two check-digit schemes are accepted, as Public
 * Health Scotland's own validation does:
 * - modulus 11 (every CHI issued before February 2026; same scheme as the NHS number):
 *   weights 10…2 on digits 1-9, check = 11 − (sum mod 11), 11 → 0, 10 → no valid CHI;
 * - modulus 10 (Luhn-style, CHIs issued from February 2026): digits 9, 7, 5, 3 and 1
 *   doubled (9 subtracted from results over 9), all nine summed,
 *   check = (10 − sum mod 10) mod 10.
 *
 * A valid checksum is never proof of identity: the embedded birth date and sex disagree
 * with the recorded ones in a small share of real records, so `chiConsistentWith`
 * reports contradictions as evidence for matching, not as a rejection.
 */

export type ChiScheme = 'mod11' | 'mod10';
export type ChiSex = 'male' | 'female';

export interface ValidChi {
  readonly valid: true;
  /** The ten digits, spaces removed. */
  readonly chi: string;
  readonly scheme: ChiScheme;
  /** Most plausible birth date (YYYY-MM-DD): the latest century that is not in the future. */
  readonly birthDate: string;
  /** Every century reading of DDMMYY that is a real date, most plausible first. */
  readonly birthDateCandidates: readonly string[];
  readonly sex: ChiSex;
}

export interface InvalidChi {
  readonly valid: false;
  readonly reason: string;
}

export type ChiValidation = ValidChi | InvalidChi;

export interface ChiOptions {
  /** The day the CHI is read on, to tell 19YY from 20YY (defaults to now). */
  readonly today?: Date;
}

const MOD11_WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** Modulus-11 check digit of the first nine digits, or 10 when no valid CHI can have them. */
export function mod11CheckDigit(nineDigits: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (nineDigits.charCodeAt(i) - 48) * MOD11_WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  return check === 11 ? 0 : check;
}

/** Modulus-10 (Luhn-style) check digit of the first nine digits. */
export function mod10CheckDigit(nineDigits: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const digit = nineDigits.charCodeAt(i) - 48;
    // Positions 1, 3, 5, 7, 9 (1-based) are the ones doubled: 9, 7, 5, 3, 1 counted from the right.
    if (i % 2 === 0) {
      const doubled = digit * 2;
      sum += doubled > 9 ? doubled - 9 : doubled;
    } else {
      sum += digit;
    }
  }
  return (10 - (sum % 10)) % 10;
}

export function validateChi(value: unknown, options: ChiOptions = {}): ChiValidation {
  if (typeof value !== 'string') return invalid('a CHI number must be given as a string of 10 digits');
  // Written as "010101 1234" or with spaces in forms; the digits are what count.
  const chi = value.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(chi)) return invalid(`a CHI number has digits only, got "${value}"`);
  if (chi.length !== 10) return invalid(`a CHI number has 10 digits, got ${chi.length}`);

  const { day, month, yy } = chiBirthDateParts(chi)!;
  const candidates = birthDateCandidates(day, month, yy, options.today ?? new Date());
  if (candidates.length === 0) {
    return invalid(`the first six digits of a CHI number are the birth date DDMMYY, and ${chi.slice(0, 6)} is not a real date`);
  }

  const nine = chi.slice(0, 9);
  const check = chi.charCodeAt(9) - 48;
  const mod11 = mod11CheckDigit(nine);
  let scheme: ChiScheme;
  if (mod11 === check) scheme = 'mod11';
  else if (mod10CheckDigit(nine) === check) scheme = 'mod10';
  else {
    const mod11Text =
      mod11 === 10
        ? 'its modulus-11 check digit would be 10, which no CHI number can have'
        : `its modulus-11 check digit should be ${mod11}`;
    return invalid(
      `bad check digit: the last digit is ${check}, but ${mod11Text} (modulus-10 scheme: ${mod10CheckDigit(nine)})`,
    );
  }

  return {
    valid: true,
    chi,
    scheme,
    birthDate: candidates[0]!,
    birthDateCandidates: candidates,
    sex: (chi.charCodeAt(8) - 48) % 2 === 1 ? 'male' : 'female',
  };
}

/**
 * `validateChi(value).valid`, without building the answer: no reason text, no century readings, no
 * clock (which century is plausible does not decide validity). The matching engine asks it of every
 * record it turns into features, where `validateChi` was the costliest step of a record with a CHI.
 */
export function isValidChi(value: string): boolean {
  const chi = value.replace(/[\s-]/g, '');
  const parts = chiBirthDateParts(chi);
  if (!parts || (!isRealDate(2000 + parts.yy, parts.month, parts.day) && !isRealDate(1900 + parts.yy, parts.month, parts.day))) return false;
  const nine = chi.slice(0, 9);
  const check = chi.charCodeAt(9) - 48;
  return mod11CheckDigit(nine) === check || mod10CheckDigit(nine) === check;
}

function invalid(reason: string): InvalidChi {
  return { valid: false, reason };
}

/** Real dates for DD/MM/YY in the 2000s and 1900s, latest first, without future ones when a past one exists. */
function birthDateCandidates(day: number, month: number, yy: number, today: Date): string[] {
  const todayIso = today.toISOString().slice(0, 10);
  const real: string[] = [];
  for (const century of [2000, 1900]) {
    const year = century + yy;
    if (!isRealDate(year, month, day)) continue;
    real.push(isoDate(year, month, day));
  }
  const plausible = real.filter((d) => d <= todayIso);
  // DDMMYY that is a real date only in the future is still well-formed: keep it rather
  // than reject a CHI that passes its checksum (the mismatch is matching evidence).
  return plausible.length > 0 ? plausible : real;
}

export function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isoDate(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * The birth date a CHI number carries (DDMMYY: day, month, two-digit year), read from its digits
 * without validating it; undefined unless it is ten digits.
 */
export function chiBirthDateParts(chi: string): { readonly day: number; readonly month: number; readonly yy: number } | undefined {
  if (!/^\d{10}$/.test(chi)) return undefined;
  return { day: Number(chi.slice(0, 2)), month: Number(chi.slice(2, 4)), yy: Number(chi.slice(4, 6)) };
}

export interface ChiConsistency {
  readonly consistent: boolean;
  /** Human-readable contradictions (empty when consistent or nothing to compare). */
  readonly conflicts: readonly string[];
}

/**
 * Does a CHI agree with a record's birth date and gender? Unknown or partial values
 * contradict nothing. Used as matching evidence only: real records sometimes disagree.
 */
export function chiConsistentWith(
  chi: string,
  birthDate?: string,
  gender?: string,
  options: ChiOptions = {},
): ChiConsistency {
  const parsed = validateChi(chi, options);
  if (!parsed.valid) return { consistent: false, conflicts: [`the CHI number is not valid: ${parsed.reason}`] };
  const conflicts: string[] = [];
  if (birthDate && /^\d{4}-\d{2}-\d{2}$/.test(birthDate)) {
    // Compare DDMMYY only: the century is not in the CHI, so any century reading agrees.
    const ddmmyy = birthDate.slice(8, 10) + birthDate.slice(5, 7) + birthDate.slice(2, 4);
    if (ddmmyy !== parsed.chi.slice(0, 6)) {
      conflicts.push(`the CHI number gives birth date ${parsed.chi.slice(0, 6)} (DDMMYY) but the record says ${birthDate}`);
    }
  } else if (birthDate && /^\d{4}(-\d{2})?$/.test(birthDate)) {
    // Partial dates: compare the parts present.
    const yy = birthDate.slice(2, 4);
    const mm = birthDate.length >= 7 ? birthDate.slice(5, 7) : undefined;
    if (yy !== parsed.chi.slice(4, 6) || (mm !== undefined && mm !== parsed.chi.slice(2, 4))) {
      conflicts.push(`the CHI number gives birth date ${parsed.chi.slice(0, 6)} (DDMMYY) but the record says ${birthDate}`);
    }
  }
  if ((gender === 'male' || gender === 'female') && gender !== parsed.sex) {
    conflicts.push(`the CHI number's sex digit says ${parsed.sex} but the record says ${gender}`);
  }
  return { consistent: conflicts.length === 0, conflicts };
}
