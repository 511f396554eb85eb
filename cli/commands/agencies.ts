/** `infoshare agencies`: the demo partnerships and agencies, with the ids every command and scenario uses. */
import { DEMO_AGENCIES, DEMO_PARTNERSHIPS } from '../../fixtures/partnership/demo-agencies.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_OK, processIo, type Io } from '../exit.js';

interface Row {
  readonly id: string;
  readonly type: string;
  readonly partnership: string;
  readonly name: string;
}

export function agencyRows(): Row[] {
  return [
    ...DEMO_PARTNERSHIPS.map((p) => ({ id: p.id, type: 'partnership', partnership: '', name: p.name })),
    ...DEMO_AGENCIES.map((a) => ({ id: a.id, type: a.type, partnership: a.partnership, name: a.name })),
  ];
}

export function agencyTable(rows: readonly Row[]): string {
  const header: Row = { id: 'ID', type: 'TYPE', partnership: 'PARTNERSHIP', name: 'NAME' };
  const all = [header, ...rows];
  const width = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const w = { id: width('id'), type: width('type'), partnership: width('partnership') };
  return all.map((r) => `${r.id.padEnd(w.id)}  ${r.type.padEnd(w.type)}  ${r.partnership.padEnd(w.partnership)}  ${r.name}`.trimEnd()).join('\n');
}

export async function agenciesCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('agencies', args, { json: { type: 'boolean' } });
  const rows = agencyRows();
  if (values.json) io.out(JSON.stringify(rows, null, 2));
  else io.out(`${agencyTable(rows)}\n\nDemo agencies only: their keys (fixtures/keys/DEMO-ONLY-*) are public.`);
  return EXIT_OK;
}
