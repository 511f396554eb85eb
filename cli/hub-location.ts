/**
 * What a command in another terminal must be given to reach the hub `infoshare start`
 * runs: the variables that moved it from where a plain terminal looks (the default
 * ports on localhost, the private Redis found through `.data/`). `start` prints its
 * hints with them, so a hub moved with `INFOSHARE_PORT_OFFSET=200` (ports in use)
 * does not hint at a command that reaches another hub on the default ports.
 */
import { DEFAULT_PORTS, SERVICE_NAMES, portVariable } from '../shared/config.js';

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

/**
 * What `start` tells a user whose hub found `port` taken: stop what listens there, or move this hub by 200 ports more
 * than it was moved already (`offset`: its INFOSHARE_PORT_OFFSET) — until 2026-12-08 always `=200`, which a hub already
 * at 200 (the earlier advice taken once) was told again.
 */
export function portInUseAdvice(port: number, offset: number): string {
  const moved = offset + 200;
  const lowest = Math.min(...Object.values(DEFAULT_PORTS)) + moved;
  const highest = Math.max(...Object.values(DEFAULT_PORTS)) + moved;
  return (
    `Port ${port} is already in use (another hub, or a test run?). Stop what listens there, or move this hub: ` +
    `\`INFOSHARE_PORT_OFFSET=${moved} npm start\` (ports ${lowest}-${highest}), and give every command you run against it the same INFOSHARE_PORT_OFFSET.`
  );
}

function shellWord(value: string): string {
  return /^[\w./:@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
