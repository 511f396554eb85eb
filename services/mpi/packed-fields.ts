/**
 * Many short values sent to a Redis script as one argument: joined with the unit separator
 * (U+001F), which never occurs in what the MPI's scripts are sent — JSON text escapes it,
 * record ids, blocking keys, search terms (control characters are removed) and link values
 * cannot hold it. The client's cost of a call is mostly per argument (encoding each, and the
 * garbage each leaves), and a registration chunk sends ~20,000 values while it holds the index
 * lock. The script splits them again with `UNPACK_LUA`'s `packed`.
 */
export const FIELD_SEPARATOR = '\x1f';

/**
 * `fields` as one argument (`packed(argument, fields.length)` in the script gives them back). `isJson(i)` names the fields
 * that are JSON text made by `JSON.stringify`, which writes U+001F as `\u001f`: those are not searched for the separator
 * (a chunk's Patient and features JSON are most of its ~1 MB of arguments, and the search was made under the index lock).
 */
export function packFields(fields: readonly string[], isJson?: (index: number) => boolean): string {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (isJson?.(i)) continue;
    if (f.includes(FIELD_SEPARATOR)) throw new Error(`a packed field holds the separator U+001F: ${JSON.stringify(f.slice(0, 80))}`);
  }
  return fields.join(FIELD_SEPARATOR);
}

/**
 * Lua: `packed(argument, count)`, the `count` fields of a packed argument, in order (plain
 * string search: no pattern, so any value but the separator is safe). Prepend to a script.
 */
export const UNPACK_LUA = `
local function packed(argument, count)
  local fields, from = {}, 1
  for k = 1, count - 1 do
    local at = string.find(argument, '\\31', from, true)
    fields[k] = string.sub(argument, from, at - 1)
    from = at + 1
  end
  if count > 0 then fields[count] = string.sub(argument, from) end
  return fields
end
`;
