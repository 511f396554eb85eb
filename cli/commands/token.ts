/** `infoshare token`: an access token for a demo agency, from the running directory. */
import { loadConfig } from '../../shared/config.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken, TokenRequestError } from '../../shared/client/token.js';
import { DEMO_AGENCIES, DEMO_PARTNERSHIPS, demoAgency } from '../../fixtures/partnership/demo-agencies.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';
import { discoverTokenUrl } from '../replay/target.js';

export async function tokenCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('token', args, {
    agency: { type: 'string' },
    scope: { type: 'string' },
    as: { type: 'string' },
    patient: { type: 'string' },
    directory: { type: 'string' },
    json: { type: 'boolean' },
  });
  const agencyId = values.agency;
  if (!agencyId) throw new UsageError('--agency <id> is required (see `infoshare agencies` for the ids)', 'token');
  if (!demoAgency(agencyId)) throw new UsageError(notAnAgency(agencyId), 'token');
  if (values.as && values.patient) throw new UsageError('give --as or --patient, not both', 'token');

  const config = loadConfig();
  const directory = urlOption('token', 'directory', values.directory);
  const tokenUrl = directory ? await discoverTokenUrl(directory, `${directory}/auth/token`) : config.token.tokenUrl;
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
