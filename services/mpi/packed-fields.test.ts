/** Values packed into one Redis script argument (packed-fields.ts): joined, and refused when one holds the separator. */
import { FIELD_SEPARATOR, packFields } from './packed-fields.js';

describe('packFields', () => {
  it('joins the values with the separator, empty values included, so the script gets back as many as were sent', () => {
    expect(packFields(['a', '', 'b,c'])).toBe(`a${FIELD_SEPARATOR}${FIELD_SEPARATOR}b,c`);
    expect(packFields([])).toBe('');
  });

  it('refuses a value holding the separator rather than sending the script a field too many', () => {
    expect(() => packFields(['ok', `bad${FIELD_SEPARATOR}value`])).toThrow('U+001F');
  });

  it('does not search JSON text for it: JSON.stringify escapes the separator, so a value made by it cannot hold it', () => {
    const json = JSON.stringify({ family: `Mac${FIELD_SEPARATOR}Leod` });
    expect(json).not.toContain(FIELD_SEPARATOR);
    expect(packFields(['id-1', json], (i) => i === 1)).toBe(`id-1${FIELD_SEPARATOR}${json}`);
    expect(() => packFields([`id${FIELD_SEPARATOR}1`, json], (i) => i === 1)).toThrow('U+001F');
  });
});
