/**
 * `infoshare agencies`: the demo agencies (the ids `infoshare token --agency`
 * and scenarios use), with the partnerships they belong to listed apart — a
 * partnership is not an OAuth client and gets no token of its own.
 */
import { DEMO_AGENCIES, DEMO_PARTNERSHIPS } from '../../fixtures/partnership/demo-agencies.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_OK, processIo, type Io } from '../exit.js';

interface AgencyRow {
  readonly id: string;
  readonly type: string;
  readonly partnership: string;
  readonly name: string;
}

interface PartnershipRow {
  readonly id: string;
  readonly name: string;
  readonly agencies: number;
}

export interface AgencyListing {
  readonly agencies: readonly AgencyRow[];
  readonly partnerships: readonly PartnershipRow[];
}

export function agencyListing(): AgencyListing {
  return {
    agencies: DEMO_AGENCIES.map((a) => ({ id: a.id, type: a.type, partnership: a.partnership, name: a.name })),
    partnerships: DEMO_PARTNERSHIPS.map((p) => ({ id: p.id, name: p.name, agencies: DEMO_AGENCIES.filter((a) => a.partnership === p.id).length })),
  };
}

/** Left-aligned columns under a header row; the last column is not padded. */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd()).join('\n');
}

export function agencyText(listing: AgencyListing): string {
  return [
    'Agencies — each is an agency system with its own key: `infoshare token --agency <ID>`',
    '',
    table(['ID', 'TYPE', 'PARTNERSHIP', 'NAME'], listing.agencies.map((a) => [a.id, a.type, a.partnership, a.name])),
    '',
    'Partnerships — the agencies above belong to them; a partnership is not an agency and gets no token',
    '',
    table(['ID', 'AGENCIES', 'NAME'], listing.partnerships.map((p) => [p.id, String(p.agencies), p.name])),
    '',
    'Demo agencies only: their keys (fixtures/keys/DEMO-ONLY-*) are public.',
  ].join('\n');
}

export async function agenciesCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('agencies', args, { json: { type: 'boolean' } });
  const listing = agencyListing();
  io.out(values.json ? JSON.stringify(listing, null, 2) : agencyText(listing));
  return EXIT_OK;
}
