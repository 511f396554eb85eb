/**
 * Name normalisation for matching: case, accents, punctuation, Mc/Mac/M' prefixes,
 * forename nickname groups (from `nicknames.json`, which is configuration: Scottish and Gaelic
 * forms) and the sourced list of English given names and their nicknames and diminutives
 * (`services/mpi/data/nickname-lookup/`, vendored with its README and licence).
 */
import { foldLetters } from '../../../shared/text-fold.js';
import nicknameData from './nicknames.json' with { type: 'json' };
import nicknameLookup from '../data/nickname-lookup/names.json' with { type: 'json' };

/** Lower case, accents removed, letters only (hyphens, apostrophes, spaces and digits dropped). */
export function normaliseName(value: string): string {
  return foldLetters(value).replace(/[^a-z]/g, '');
}

const LETTERS_ONLY = /^[a-z]+$/;

/**
 * Words of a name field: lower case, accents removed, split on spaces and hyphens
 * ("Mary-Anne" → ["mary", "anne"]), apostrophes dropped (O'Neill → oneill).
 */
export function nameWords(value: string): string[] {
  const folded = foldLetters(value);
  // Most names are one plain word: nothing to strip or split (every record's features ask).
  if (LETTERS_ONLY.test(folded)) return [folded];
  return folded
    .replace(/['’`]/g, '')
    .split(/[^a-z]+/)
    .filter((w) => w.length > 0);
}

/**
 * A family name in one comparable form: M', Mc and Mac all become "mac" (McDonald,
 * MacDonald, M'Donald, Mac Donald → macdonald), and separators go. Other names that
 * merely start with "mac" (Mack, Machin) are left as they are.
 */
export function normaliseFamily(value: string): string {
  const lower = foldLetters(value).trim();
  // M' is the old abbreviation of Mac; check it before apostrophes are stripped.
  const expanded = lower.replace(/^m['’‘`]\s*/, 'mac').replace(/^mc\s*/, 'mac').replace(/^mac\s+/, 'mac');
  return expanded.replace(/[^a-z]/g, '');
}

const FAMILY_SEPARATOR = /[\s-]/;

/** Could the family name have more than one part (`familyParts`)? Not without a space or hyphen. */
export function mayHaveFamilyParts(value: string): boolean {
  return FAMILY_SEPARATOR.test(value);
}

/** Parts of a double-barrelled family name ("Smith-Jones" → ["smith", "jones"]); one part for most names. */
export function familyParts(value: string): string[] {
  // Most family names have no separator: one part, without the splitting (every record's features ask).
  if (!mayHaveFamilyParts(value)) {
    const one = normaliseFamily(value);
    return one ? [one] : [];
  }
  const lower = foldLetters(value).trim();
  // Split only on hyphens and spaces that are not part of a Mc/Mac/M' prefix.
  const joined = lower.replace(/^m['’‘`]\s*/, 'mac').replace(/^(mc|mac)\s+/, '$1');
  return joined
    .split(/[\s-]+/)
    .map((p) => normaliseFamily(p))
    .filter((p) => p.length > 0);
}

interface NicknameTable {
  readonly description: string;
  readonly groups: readonly (readonly string[])[];
}

const table: NicknameTable = nicknameData;

/** name → canonical names of every group it belongs to (most names: none). */
const groupsByName: ReadonlyMap<string, readonly string[]> = buildIndex(table);

function buildIndex(data: NicknameTable): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const group of data.groups) {
    const canonical = group[0];
    if (canonical === undefined) continue;
    for (const name of group) {
      const list = index.get(name) ?? [];
      if (!list.includes(canonical)) list.push(canonical);
      index.set(name, list);
    }
  }
  return index;
}

/** Canonical names of the nickname groups a normalised forename belongs to ([] if none). */
export function nicknameGroups(forename: string): readonly string[] {
  return groupsByName.get(forename) ?? [];
}

/** Are two normalised forenames the same name by the nickname table (Rab / Robert, Senga / Agnes)? */
export function sameByNickname(a: string, b: string): boolean {
  const ga = groupsByName.get(a);
  const gb = groupsByName.get(b);
  if (!ga || !gb) return false;
  for (const g of ga) if (gb.includes(g)) return true;
  return false;
}

/**
 * name → the names it is directly paired with by the sourced lookup (`nickname-lookup/names.json`):
 * each row is a given name and the nicknames or diminutives it goes by ("euphemia, effie, effy"),
 * and a name is paired with its row's first name both ways — not with the other names of the
 * row, because a row headed by a nickname lists the several names it may stand for ("bill:
 * william, robert, fred"), which are not each other's forms. Only names of letters (the list's
 * "k.c." cannot be a normalised forename).
 */
const variantsByName: ReadonlyMap<string, ReadonlySet<string>> = buildVariants(nicknameLookup.rows);

function buildVariants(rows: readonly (readonly string[])[]): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  const pair = (x: string, y: string) => {
    const set = index.get(x) ?? new Set<string>();
    set.add(y);
    index.set(x, set);
  };
  for (const [head, ...forms] of rows) {
    if (head === undefined || !/^[a-z]+$/.test(head)) continue;
    for (const form of forms) {
      if (form === head || !/^[a-z]+$/.test(form)) continue;
      pair(head, form);
      pair(form, head);
    }
  }
  return index;
}

/**
 * Are two normalised forenames one name by the sourced lookup of nicknames and diminutives
 * (Effie / Euphemia, Lottie / Charlotte, Nell / Ellen)? Two map lookups, no allocation: the
 * comparison loop asks it of every candidate pair whose forenames differ.
 */
export function sameByNameLookup(a: string, b: string): boolean {
  return variantsByName.get(a)?.has(b) === true;
}
