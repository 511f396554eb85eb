/** `infoshare token`: an access token for a demo agency, from the running directory. */
import { loadConfig } from '../../shared/config.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken, TokenRequestError } from '../../shared/client/token.js';
import type { CareTeam } from 'fhir/r4.js';
import { DEMO_AGENCIES, DEMO_PARTNERSHIPS, demoAgency } from '../../fixtures/partnership/demo-agencies.js';
import { readResources } from '../../fixtures/partnership/files.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { tokenUrlFor } from '../demo-token.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';

export async function tokenCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('token', args, {
    agency: { type: 'string' },
    scope: { type: 'string' },
    as: { type: 'string' },
    patient: { type: 'string' },
    directory: { type: 'string' },
    json: { type: 'boolean' },
  });
  // A demo person signs in through the portal of the agency that manages their Named Person / Lead Professional team.
  const agencyId = values.agency ?? (values.patient ? portalAgencyOf(values.patient) : undefined);
  if (!agencyId) throw new UsageError('--agency <id> is required (see `infoshare agencies` for the ids), or --patient <demo person id>', 'token');
  if (!demoAgency(agencyId)) throw new UsageError(notAnAgency(agencyId), 'token');
  if (values.as && values.patient) throw new UsageError('give --as or --patient, not both', 'token');

  const config = loadConfig();
  const directory = urlOption('token', 'directory', values.directory);
  const tokenUrl = await tokenUrlFor(config, directory);
  try {
    const response = await getAccessToken({
      tokenUrl,
      agencyId,
      privateKeyPem: await demoAgencyKey(agencyId),
      ...(values.scope ? { scope: values.scope } : {}),
      ...(values.as ? { practitionerRole: values.as } : {}),
      ...(values.patient ? { patient: values.patient } : {}),
    });
    io.out(values.json ? JSON.stringify(response, null, 2) : response.access_token);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof TokenRequestError) {
      io.err(err.message);
      return EXIT_FAILURE;
    }
    if (isUnreachable(err)) {
      io.err(`The directory is not reachable at ${tokenUrl}: start the hub with \`infoshare start\` (or pass --directory <url>)`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

/** The agency managing a demo person's Named Person / Lead Professional team (whose system is their portal). */
export function portalAgencyOf(patient: string): string {
  const id = patient.replace(/^Patient\//, '');
  const team = readResources<CareTeam>('CareTeam').find((t) => t.subject?.reference === `Patient/${id}`);
  const agency = team?.managingOrganization?.[0]?.reference?.replace(/^Organization\//, '');
  if (!agency) throw new UsageError(`"${id}" is not a demo person with a Named Person / Lead Professional (demo-child-1 … demo-child-5, demo-adult-1); give --agency too`, 'token');
  return agency;
}

/** Why an id gets no token: a partnership is told apart from a typo, with the agencies it could mean. */
export function notAnAgency(id: string): string {
  const partnership = DEMO_PARTNERSHIPS.find((p) => p.id === id);
  if (!partnership) return `"${id}" is not a demo agency (see \`infoshare agencies\`)`;
  const members = DEMO_AGENCIES.filter((a) => a.partnership === id).map((a) => a.id);
  return (
    `"${id}" is a partnership (${partnership.name}), not an agency: a partnership has no system of its own and gets no token. ` +
    `Ask for one as one of its agencies, e.g. --agency ${members[0]} (all ${members.length}: \`infoshare agencies\`)`
  );
}
