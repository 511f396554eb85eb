/** `infoshare help [command]`. */
import { EXIT_OK, EXIT_USAGE, processIo, type Io } from '../exit.js';

export const USAGE: Readonly<Record<string, string>> = {
  start: `infoshare start [--no-fixtures] [--partnership lothian-hscp|fife-hscp]
  Starts the whole hub: Redis (unless REDIS_URL is set), every service, and the
  demo partnership. Prints every URL; Ctrl-C stops everything cleanly. Leaves
  a note of its Redis and key prefix in <data dir>/hub.json while it runs, so
  \`replay\` and \`fixtures load\` in another terminal find them without REDIS_URL.
  --no-fixtures  do not load the demo partnership (nor its agencies' demographic extracts)
  --partnership  run as that demo partnership's own hub, the other partnership's hub
                 its peer: fife-hscp on ports 4100-4110, key prefix is-fife, data in
                 .data/fife-hscp, its own DEMO-ONLY signing key; lothian-hscp on the
                 usual ports (README: "Across partnership boundaries")`,
  token: `infoshare token --agency <id> [--scope "<scopes>"] [--as <PractitionerRole id> | --patient <Patient id>]
                [--directory <url>] [--json]
  Prints an access token for a demo agency, signed in with its DEMO-ONLY key,
  for use with curl:
    TOKEN=$(infoshare token --agency edinburgh-education --scope system/CareTeam.read)
    curl -H "Authorization: Bearer $TOKEN" "http://localhost:4000/fhir/CareTeam?subject=Patient/demo-child-1"
  --scope      space-separated scopes (default: every scope the agency may have)
  --as         a practitioner acting through the agency system (PractitionerRole id)
  --patient    the person acting for themselves (a demo person: demo-child-1 … demo-adult-1):
               patient scopes only (patient/*.read patient/CarePlan.write), their own record only;
               without --agency, through the agency managing their NP/LP team
  --directory  the directory's URL (default: from the environment, http://localhost:4000)
  --json       print the whole token response`,
  agencies: `infoshare agencies [--json]
  Lists the demo agencies (id, type, partnership, name: the ids \`infoshare token
  --agency\` takes), then, apart, the partnerships they belong to (no token of their own).
  --json  { "agencies": [...], "partnerships": [...] }`,
  replay: `infoshare replay [<file|dir>…] [--spawn] [--json] [--keep]
                 [--directory <url>] [--mpi <url>] [--alerts <url>] [--plans <url>] [--audit <url>] [--agency-sim <url>]
                 [--token-url <url>] [--redis <url>] [--key-prefix <prefix>] [--signing-key <file>]
  Replays scenario files (fixtures/scenarios/README.md) against the hub and
  prints each step ✔/✘ with its evidence. Exits 1 if any step fails.
  With no paths, replays everything under fixtures/scenarios.
  --spawn        start a private hub (own key prefix, free ports) for the run, then stop it
  --keep         with --spawn, keep the run's Redis keys afterwards (default: deleted)
  --json         print a machine-readable report instead
  --<service>    a service's base URL (default: from the environment)
  --token-url    the token endpoint (default: the directory's, discovered)
  --redis        the Redis holding the audit trail, to check criteria (default: REDIS_URL or the running hub's)
  --key-prefix   the hub's Redis key prefix (default: INFOSHARE_KEY_PREFIX, the running hub's, or "is")
  --signing-key  the partnership signing key, to forge expired/wrong-audience tokens (default: the demo key)`,
  evidence: `infoshare evidence [--format html|csv|json|fhir|pdf] [--out FILE] [--since <date>] [--until <date>]
                  [--partnership <id>] [--agency <id>] [--audit <url>] [--directory <url>]
  The maturity evidence report from the running hub's audit service: every Annex B
  cell graded from the exchange log, computed at the latest signed checkpoint (named
  in the report), as an auditor of a statutory partner (--agency, default nhs-lothian).
  --format       html (default), csv, json, fhir (a Bundle: summary + cited AuditEvents), pdf (needs --out)
  --out          write to FILE instead of standard output
  --since/--until  only exchanges recorded in that range (FHIR dates: 2026, 2026-12-01, an instant)
  --partnership  only exchanges made by agencies of that partnership
  --audit        the audit service's URL (default: from the environment, http://localhost:4004)
  --directory    the directory's URL, to sign in at that hub's token endpoint (default: from the environment)`,
  matching: `infoshare matching report [--agency <id>] [--mpi <url>] [--directory <url>] [--json]
       infoshare matching estimate [--agency <id>] [--mpi <url>] [--directory <url>] [--json]
       infoshare matching review <task id> [--agency <id>] [--mpi <url>] [--directory <url>] [--json]
  report    the matching review (MI-L5) from the running hub: review-queue size and age,
            automatic / CHI / review / new counts, reviewer decisions, the declared
            matching model and the last benchmark's quality figures
  estimate  re-estimate the matching model from the records in the index
  review    a match review Task side by side: both records' values per field with each
            field's agreement level and weight now, values the ISP keeps from the agency
            left out (as a reviewing agency: NHS board or social work)
  --agency     the demo agency to ask as (default nhs-lothian)
  --mpi        the MPI's URL (default: from the environment)
  --directory  the directory's URL, to sign in at that hub's token endpoint (default: from the environment)
  --json       print the report as JSON`,
  audit: `infoshare audit verify [--json]
       infoshare audit verify --checkpoint FILE [--entry <AuditEvent id>]… [--save FILE]
       infoshare audit verify --bundle FILE [--key FILE]
       infoshare audit checkpoint --out FILE
       infoshare audit bundle <AuditEvent id> --out FILE [--checkpoint <size>]
       (remote forms also take [--audit <url>] [--directory <url>] [--agency <id>] [--key FILE])
  The audit log (README "Audit log"), for auditors.
  verify               on the hub's host: re-hash every entry of the log, check every signed
                       checkpoint; prints size, root and the first bad position; exits 1 if bad
  verify --checkpoint  from outside the hub, over HTTP: the current log is consistent with the
                       checkpoint you kept (RFC 9162 consistency proof), and each --entry is in it;
                       --save keeps the current checkpoint for next time
  verify --bundle      offline: a downloaded proof bundle (entry + inclusion proof + checkpoint)
  checkpoint           keep the latest signed checkpoint (its signature checked first)
  bundle               download an AuditEvent's proof bundle
  --key     the partnership's public key: a JWKS, a PEM, or the /log/key verifier key
            (default: the directory's published JWKS; for --bundle, the key the bundle names)
  --agency  the demo agency to ask as (default nhs-lothian, which holds system/AuditEvent.read)
  --audit   the audit service's URL (default: from the environment, http://localhost:4004)
  --directory  the directory's URL, to sign in at that hub's token endpoint (default: from the environment);
            also where the partnership's JWKS is read from when --key is not given`,
  'dead-relays': `infoshare dead-relays list [--partnership lothian-hscp|fife-hscp] [--json]
       infoshare dead-relays redrive (<report id>… | --all) [--partnership lothian-hscp|fife-hscp] [--json]
  On the hub's host, for its operator: the dead-letter reports this hub relays to another
  partnership's hub (a message that hub forwarded here died here; its report goes back to the
  sender through it) that died here — that hub refused them, or was down longer than the retry
  window. No one who signs in here may re-drive them (README "Dead letters across the boundary").
  list     each one: its id, the sender it reports to, through which hub, when and why it died
  redrive  put them back to pending (a new job, a new retry window), audited as the operator's;
           the running hub's delivery worker sends them. Exits 1 if one named is not such a report
           (checked from its origin: a report to a peer hub's agency about a message that hub
           forwarded here, dead here), each refusal with its reason; nothing is changed for it
  --partnership  the demo partnership whose hub this is (as \`infoshare start --partnership\`)
  --json   print the result as JSON`,
  load: `infoshare load <file> --agency <id> [--key <private key PEM file>] [--bundle-size N] [--json]
                [--mpi <url>] [--directory <url>]
  An agency's initial load into the MPI: the file's Patients are sent in
  transaction Bundles of N records, one after another, each registered in the
  background (Prefer: respond-async) while its progress is shown on stderr;
  the summary (created / updated, linked / queued for review / new persons)
  goes to stdout. Each Bundle is all or nothing; a refused one stops the load
  with its problems named by record (line or entry), and the Bundles before it
  stay registered. Running the same command again is safe.
    infoshare load fixtures/demographics/edinburgh-housing.json --agency edinburgh-housing
  <file>         a FHIR Bundle of Patients (e.g. a transaction of POST Patient entries),
                 or NDJSON named .ndjson (one Patient per line, the FHIR bulk format)
  --agency       the agency whose records these are (required); it signs in as itself
  --key          the agency's own private key (PEM) to sign in with; without it, the
                 agency's committed DEMO-ONLY key is used (demo agencies only)
  --bundle-size  records per Bundle (default 1000; a Bundle must fit the MPI's
                 INFOSHARE_BULK_BODY_LIMIT, 50mb by default)
  --mpi          the MPI's URL (default: from the environment, http://localhost:4001)
  --directory    the directory's URL, for the token endpoint (default: from the environment)
  --json         print the summary as one JSON object`,
  fixtures: `infoshare fixtures load [--demographics]
  Loads the demo partnership (agencies, keys, practitioners, Named Person /
  Lead Professional assignments, the signed ISPs) into REDIS_URL or the running
  hub's Redis; idempotent. --demographics also registers the demo agencies'
  demographic extracts in the index.`,
  help: `infoshare help [command]
  Shows this help, or one command's.`,
};

/** The `infoshare …` lines a command's usage opens with: one per form of the command. */
function usageForms(usage: string): string[] {
  const forms: string[] = [];
  for (const line of usage.split('\n')) {
    if (!line.trim().startsWith('infoshare ')) break;
    forms.push(line.trim());
  }
  return forms;
}

export function usageText(): string {
  return [
    'infoshare — partnership information-sharing hub',
    '',
    'Commands:',
    // Every form a command's usage opens with (`matching report`, `matching estimate`, `matching review`…), not only the first.
    ...Object.values(USAGE).flatMap(usageForms).map((line) => `  ${line}`),
    '',
    'Run `infoshare help <command>` for details. Exit codes: 0 ok, 1 failure, 2 usage error.',
  ].join('\n');
}

export async function helpCommand(args: string[], io: Io = processIo): Promise<number> {
  const [topic] = args;
  if (topic === undefined) {
    io.out(usageText());
    return EXIT_OK;
  }
  const text = USAGE[topic];
  if (!text) {
    io.err(`Unknown command "${topic}".\n\n${usageText()}`);
    return EXIT_USAGE;
  }
  io.out(text);
  return EXIT_OK;
}
