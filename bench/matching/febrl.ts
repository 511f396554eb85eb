/**
 * FEBRL record-linkage data (Peter Christen, ANU; redistributed by the Python Record
 * Linkage Toolkit) read into the engine's input type. See bench/data/febrl/README.md:
 * comma-separated with a space after each comma, YYYYMMDD dates, `rec-<n>-org` /
 * `rec-<n>-dup-<k>` ids (same <n> = same person), soc_sec_id behaving like a national id.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DemographicRecord } from '../../services/mpi/domain/record.js';

export interface LabelledRecord {
  readonly record: DemographicRecord;
  /** The true person. */
  readonly person: string;
}

export interface FebrlOptions {
  /** Put soc_sec_id where the CHI goes ("with identifier" run). */
  readonly identifier: boolean;
}

export function readFebrl(file: string, options: FebrlOptions): LabelledRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  const header = lines[0]!.split(',').map((h) => h.trim());
  const column = (name: string): number => {
    const at = header.indexOf(name);
    if (at < 0) throw new Error(`${path.basename(file)}: no column ${name}`);
    return at;
  };
  const c = {
    id: column('rec_id'),
    given: column('given_name'),
    surname: column('surname'),
    number: column('street_number'),
    address1: column('address_1'),
    address2: column('address_2'),
    suburb: column('suburb'),
    postcode: column('postcode'),
    dob: column('date_of_birth'),
    ssn: column('soc_sec_id'),
  };
  return lines.slice(1).map((line) => {
    // Values never contain commas in these files; each has one leading space.
    const v = line.split(',').map((s) => s.trim());
    const id = v[c.id]!;
    const dob = v[c.dob]!;
    // As the service joins Patient.address.line: "number street, second line".
    const street = [v[c.number], v[c.address1]].filter((s) => s).join(' ');
    const addressLine = [street, v[c.address2]].filter((s) => s).join(', ');
    const record: DemographicRecord = {
      id,
      given: v[c.given] ? [v[c.given]!] : [],
      ...(v[c.surname] ? { family: v[c.surname] } : {}),
      // A corrupted date (month 13, day 00) is still passed on: the features keep what is plausible.
      ...(/^\d{8}$/.test(dob) ? { birthDate: `${dob.slice(0, 4)}-${dob.slice(4, 6)}-${dob.slice(6, 8)}` } : {}),
      ...(v[c.postcode] ? { postcode: v[c.postcode] } : {}),
      ...(addressLine ? { addressLine } : {}),
      ...(v[c.suburb] ? { town: v[c.suburb] } : {}),
      ...(options.identifier && v[c.ssn] ? { chi: v[c.ssn] } : {}),
    };
    return { record, person: /^rec-(\d+)-/.exec(id)?.[1] ?? id };
  });
}
