/**
 * How names and search strings are compared whatever the keyboard that typed them: lower case,
 * combining marks removed (é → e, ò → o, ń → n), and the letters Unicode gives no decomposition
 * mapped to the Latin letters people write for them when a system cannot hold them (Ł → l,
 * ø → o, ß → ss, æ → ae …). Without the map "Małgorzata" loses its ł to the accent strip and never
 * meets the "Malgorzata" another agency's system stored.
 */
const UNDECOMPOSED: Readonly<Record<string, string>> = {
  ł: 'l', đ: 'd', ð: 'd', ø: 'o', ħ: 'h', ı: 'i', ŧ: 't', ƚ: 'l',
  æ: 'ae', œ: 'oe', ß: 'ss', þ: 'th',
};
const UNDECOMPOSED_LETTER = /[łđðøħıŧƚæœßþ]/g;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function foldLetters(value: string): string {
  // Nearly every name a partnership holds is ASCII: nothing to decompose or map.
  if (PRINTABLE_ASCII.test(value)) return value.toLowerCase();
  return value
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(UNDECOMPOSED_LETTER, (letter) => UNDECOMPOSED[letter] ?? letter);
}
