/**
 * The demo agencies' private keys (fixtures/keys, DEMO-ONLY). They exist so
 * testers and the replay tool can act as any demo agency; a real agency
 * system holds its own key and registers only the public half.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { demoAgencyKeyFile } from '../../fixtures/keys/demo-keys.js';

const AGENCY_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The PEM private key of a demo agency; a clear error when there is none. */
export async function demoAgencyKey(agencyId: string): Promise<string> {
  // The id becomes part of a file name: refuse anything that could walk out of the directory.
  if (!AGENCY_ID.test(agencyId)) throw new Error(`Not an agency id: ${JSON.stringify(agencyId)}`);
  const file = demoAgencyKeyFile(agencyId);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`No demo key for agency "${agencyId}" (looked for ${path.relative(process.cwd(), file) || file}); see \`infoshare agencies\``, { cause: err });
    }
    throw err;
  }
}
