/**
 * What a command in another terminal must be given to reach the hub `infoshare start`
 * runs: the variables that moved it from where a plain terminal looks (the default
 * ports on localhost, the private Redis found through `.data/`). `start` prints its
 * hints with them, so a hub moved with `INFOSHARE_PORT_OFFSET=200` (ports in use)
 * does not hint at a command that reaches another hub on the default ports.
 */
import { SERVICE_NAMES, portVariable } from '../shared/config.js';

/** The settings that say where the hub listens and where its Redis note is, with the value each has unset. */
const LOCATION_SETTINGS: readonly (readonly [name: string, unset: string | undefined])[] = [
  ['INFOSHARE_PORT_OFFSET', '0'],
  ...SERVICE_NAMES.map((s) => [portVariable(s), undefined] as const),
  ['INFOSHARE_PUBLIC_BASE', 'http://localhost'],
  ['INFOSHARE_DATA_DIR', '.data'],
];

/** `NAME=value ` for each location setting `env` gives a value other than its default, shell-quoted when needed; '' when none. */
export function hubLocationPrefix(env: NodeJS.ProcessEnv): string {
  return LOCATION_SETTINGS.flatMap(([name, unset]) => {
    const value = env[name];
    return value === undefined || value === '' || value === unset ? [] : [`${name}=${shellWord(value)} `];
  }).join('');
}

function shellWord(value: string): string {
  return /^[\w./:@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
