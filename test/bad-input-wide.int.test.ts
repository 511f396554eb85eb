/**
 * A wide bad-input corpus, by category, over every route of every service of one hub (read
 * from the apps' own routers, so a route added later is covered), sent over real HTTP:
 *
 * - methods: every method a path does not take → 405 with `Allow`;
 * - ids: traversal (`../`, encoded and double-encoded), over-long, CR/LF, NUL, Redis glob and
 *   prototype names in every `:param` of every route → 400 / 404;
 * - queries: prototype and bracket keys, empty and nameless parameters, numbers out of range,
 *   repeated result parameters, on every GET route; per search parameter of every
 *   CapabilityStatement: an unknown modifier, a date / number that is not one;
 * - tokens: every kind of bad JWT on one route per service, three on every route → 401;
 * - bodies: syntax, encoding, media type, shape and size on every route that takes a body;
 * - fields: the wrong JSON type for every element of every resource type a service creates;
 * - values: impossible dates and times, periods that end before they start, malformed references.
 *
 * Every answer must be a 4xx `application/fhir+json` OperationOutcome with a readable text and
 * the status of its category — never a 5xx, a hang, a stack frame, a source path or key
 * material; every refused exchange in the audit stream under its request id as a refusal; and
 * the hub's Redis state (everything but the audit trail) the same after the corpus as before.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { tryGetDataType } from '@medplum/core';
import jwt from 'jsonwebtoken';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { PATIENT_SCOPES } from '../shared/auth/scopes.js';
import { agencyPatientSystem } from '../shared/fhir/systems.js';
import { preloadFhirDefinitions } from '../shared/fhir/validate.js';
import type { ServiceName } from '../shared/config.js';
import { connectRedis } from '../shared/redis/connection.js';
import type { RunningHub } from '../services/hub.js';
import { alertMessage } from './alerts.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';
import { sendRaw, type RawAnswer } from './raw-http.js';
import { uniquePrefix } from './redis.js';
import { routeTemplates, type RouteTemplate } from './route-templates.js';

const AGENCY = 'nhs-lothian';
const PARTNERSHIP = 'lothian-hscp';
const FJ = { 'content-type': 'application/fhir+json' };
const json = (o: unknown) => JSON.stringify(o);

interface Case {
  readonly service: ServiceName;
  readonly what: string;
  readonly method: string;
  readonly path: string;
  /** The statuses FHIR/HTTP call for. */
  readonly status: readonly number[];
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** `none`: no Authorization header; a key of `tokens`: that token; unset: the hub token with every scope. */
  readonly auth?: string;
  /** What the refusal must name (the spoiled element), so a case refused for another reason does not pass. */
  readonly names?: string;
}

/** What no answer may carry: a stack frame, a source path, key material. */
const LEAK = /\bat [\w.<>$]+ \(|\.[jt]s:\d+|\/work\/|node_modules|-----BEGIN|PRIVATE KEY|"d":"|Redis|ioredis|ERR /;

/** Routes open without a token: discovery, the token endpoint, the auditor's public pages and the simulator's controls. */
const PUBLIC = /^(GET \/fhir\/metadata|GET \/(fhir\/)?\.well-known\/|GET \/auth\/jwks\.json|POST \/auth\/token|GET \/log\/(checkpoint|key|vocabulary)$|GET \/page\/app\.js$|GET \/$|[A-Z]+ \/agencies\/)/;

/** Keys a refusal may move: the audit trail and its indexes, the workers' liveness marks, and the simulator's own tally of what it refused. */
// Also the replay-protection keys of tokens (`:jti:`): they expire with their token by design, so a suite running longer
// than a token's life on a slow machine saw them "deleted" — the clock's doing, not the corpus's.
const NOT_STATE = /\{audit\}|:stalled-check$|\{agency-sim\}:(stats|agencies)|:jti:/;

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest('base64url');

/** Operations a person calls about themselves, with their own (patient) token. */
const PATIENT_FACING = /^\/fhir\/(CarePlan\/[^/]+\/\$add-views|Patient\/\$accesses)(\?|$)/;

/** Tokens the hub itself signed, naming an agency it does not know (only a leaked key makes one): not a 401 everywhere. */
const SIGNED_BUT_UNKNOWN = new Set(['unknownAgency', 'protoAgency']);

/** Good tokens the corpus acts with besides the hub token (a Lead Professional grants Consents): not among the bad ones. */
const ACTING = new Set(['leadProfessional']);

/** Hostile values for a path parameter: each must be refused (400) or not found (404), never reach a store as a key. */
const HOSTILE_IDS = [
  '..',
  '.',
  '%2E%2E',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%252e%252e%252fetc%252fpasswd',
  '..%5C..%5Cwindows',
  'a%2Fb',
  'x%00',
  'x%0D%0ASet-Cookie%3A%20a%3Db',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '*',
  '%2A',
  'a%3F',
  '%5Ba-z%5D',
  '%7Bslot%7D',
  'x%3Ay%3Az',
  '%E2%80%AE',
  '%EF%BB%BFx',
  'x'.repeat(65),
  'x'.repeat(4000),
];

/** Query strings that are wrong on any GET route. */
const HOSTILE_QUERIES: { what: string; query: string }[] = [
  { what: 'a __proto__[x] key', query: '__proto__[polluted]=1' },
  { what: 'a constructor[prototype] key', query: 'constructor[prototype][polluted]=1' },
  { what: 'a bracketed key', query: 'a[b][c]=1' },
  { what: '_count beyond any integer', query: '_count=99999999999999999999' },
  { what: '_count 1.5', query: '_count=1.5' },
  { what: '_count in hex', query: '_count=0x10' },
  { what: '_count 1e3', query: '_count=1e3' },
  { what: '_count empty and repeated', query: '_count=&_count=2' },
  { what: '_count given three times', query: '_count=1&_count=1&_count=1' },
  { what: 'a nameless parameter', query: '=x' },
  { what: 'only separators', query: '&&&=&' },
  { what: 'a NUL in a value', query: 'name=a%00b' },
  { what: 'a control character in a name', query: 'na%01me=x' },
  { what: 'an 8 KB value', query: `name=${'x'.repeat(8_000)}` },
  { what: '500 parameters', query: Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&') },
];

const HEAVY = new Set(['a 1.5 MB body', 'an array of 100,000 nulls']);

/**
 * Operations whose parameters are all optional: no body, or none at all sent with a JSON Content-Type (curl -X POST
 * -H 'Content-Type: …', the benchmarks' clients), asks for the operation with no parameters — not bad input.
 */
const BODY_OPTIONAL = /\/(matching\/\$recluster|fhir\/\$estimate-model|fhir\/Patient\/[^/]+\/\$unlink)$/;
const NO_BYTES = new Set(['an empty body']);

/** Bodies wrong for any route that takes one, with the status each calls for. */
function hostileBodies(valid: string): { what: string; body: string | Buffer; headers?: Record<string, string>; status: number[] }[] {
  const into = (extra: string) => valid.replace('{', `{${extra},`);
  return [
    { what: 'malformed JSON', body: '{"resourceType":', status: [400] },
    { what: 'a body cut short', body: valid.slice(0, Math.max(2, valid.length - 3)), status: [400] },
    { what: 'an empty body', body: '', status: [400, 422] },
    { what: 'whitespace only', body: '  \n ', status: [400, 422] },
    { what: 'JSON then trailing garbage', body: `${valid}}`, status: [400] },
    { what: 'two JSON documents', body: `${valid}${valid}`, status: [400] },
    { what: 'null', body: 'null', status: [400, 422] },
    { what: 'a number', body: '42', status: [400, 422] },
    { what: 'true', body: 'true', status: [400, 422] },
    { what: 'an array of the resource', body: `[${valid}]`, status: [400, 422] },
    { what: 'a key twice', body: into('"id":"a","id":"b"'), status: [400] },
    { what: 'resourceType twice', body: into('"resourceType":"Basic"'), status: [400] },
    { what: 'a __proto__ key nested', body: into('"meta":{"tag":[{"__proto__":{"x":1}}]}'), status: [400] },
    { what: 'a constructor key nested', body: into('"extension":[{"url":"http://x","constructor":{"prototype":{}}}]'), status: [400] },
    { what: 'a prototype key', body: into('"prototype":{}'), status: [400] },
    { what: 'an escaped __proto__ key', body: into('"\\u005f\\u005fproto__":{}'), status: [400] },
    { what: 'objects 150 deep', body: into(`"extension":[${'{"url":"http://x","extension":['.repeat(150)}${']}'.repeat(150)}]`), status: [400] },
    { what: 'a raw control character in a string', body: into('"language":"e\u0001n"'), status: [400] },
    { what: 'an escaped control character', body: into('"language":"e\\u0007n"'), status: [400] },
    { what: 'a lone low surrogate', body: into('"language":"\\udc00"'), status: [400] },
    { what: 'a high surrogate then a letter', body: into('"language":"\\ud83dx"'), status: [400] },
    { what: 'an overlong UTF-8 slash', body: Buffer.concat([Buffer.from(valid.slice(0, -1)), Buffer.from(',"language":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), status: [400] },
    { what: 'a number beyond double range', body: into('"x":-1e999'), status: [400, 422] },
    { what: 'no resourceType', body: valid.replace(/"resourceType":"[A-Za-z]+",?/, ''), status: [400, 422] },
    { what: 'resourceType as a number', body: valid.replace(/"resourceType":"[A-Za-z]+"/, '"resourceType":7'), status: [400, 422] },
    { what: 'resourceType __proto__', body: valid.replace(/"resourceType":"[A-Za-z]+"/, '"resourceType":"__proto__"'), status: [400, 422] },
    { what: 'resourceType toString', body: valid.replace(/"resourceType":"[A-Za-z]+"/, '"resourceType":"toString"'), status: [400, 422] },
    { what: 'resourceType OperationOutcome', body: valid.replace(/"resourceType":"[A-Za-z]+"/, '"resourceType":"OperationOutcome"'), status: [400, 422] },
    { what: 'an array of 100,000 nulls', body: into(`"contained":[${Array(100_000).fill('null').join(',')}]`), status: [400, 413, 422] },
    { what: 'a 1.5 MB body', body: into(`"language":"${'x'.repeat(1_500_000)}"`), status: [413] },
    { what: 'no Content-Type', body: valid, headers: {}, status: [415] },
    { what: 'text/plain', body: valid, headers: { 'content-type': 'text/plain' }, status: [415] },
    { what: 'multipart', body: `--b\r\nContent-Type: application/fhir+json\r\n\r\n${valid}\r\n--b--`, headers: { 'content-type': 'multipart/form-data; boundary=b' }, status: [415] },
    { what: 'a Content-Type that is not one', body: valid, headers: { 'content-type': ';;;' }, status: [400, 415] },
    { what: 'a JSON Content-Type with a bogus parameter', body: valid, headers: { 'content-type': 'application/fhir+json; fhirVersion=banana' }, status: [415] },
    { what: 'Content-Encoding given twice', body: valid, headers: { ...FJ, 'content-encoding': 'identity, x-bogus' }, status: [415] },
  ];
}

/** Wrong JSON for an element of each kind: what a client that mistyped a field sends. */
function wrongValues(single: boolean, jsType: 'string' | 'number' | 'boolean' | 'object'): unknown[] {
  const scalar = jsType === 'string' ? [123, true, { value: 'x' }] : jsType === 'number' ? ['1', true, {}] : jsType === 'boolean' ? ['true', 1, {}] : ['x', 42, true];
  return single ? [...scalar, [scalar[0]], null] : [scalar[0], {}, [null], [[]], []];
}

describe('a wide bad-input corpus against every route of a whole hub', () => {
  const prefix = uniquePrefix('bad-input-wide');
  let hub: RunningHub;
  let token: string;
  /** The person's own token: what the plans service's patient-facing operations ($add-views, $accesses) take. */
  let patientToken: string;
  const tokens: Record<string, string> = {};
  const sent: { id: string; what: string }[] = [];
  let n = 0;
  /** Every route of every service, as read from its router. */
  const routes: { service: ServiceName; route: RouteTemplate }[] = [];
  /**
   * Per service, per resource type it creates: a body it accepts. `auth`: the token it takes (a key of `tokens`; the
   * hub token when unset). `accepted`: the twin shown to be accepted, where the body itself must stay unsent (a message
   * Bundle: its MessageHeader.id, once processed, would make each spoiled copy a duplicate). `nested`: resources inside
   * the body (`entry[i].resource`) whose elements are spoiled too.
   */
  const creates: { service: ServiceName; type: string; path: string; body: object; auth?: string; accepted?: object; nested?: readonly { index: number; type: string }[] }[] = [];
  /** An id of each kind the corpus's paths use, existing where the fixtures give one. */
  const params: Record<string, string> = { agency: AGENCY, code: 'SI-L3', vid: '1', messageId: 'corpus-missing', id: 'corpus-missing' };

  const urlOf = (service: ServiceName, path: string) => `${hub.config.urls[service] ?? ''}${path}`;
  /** A Contract of the fixtures: `$sign` on it reaches the body's checks (on an unknown one it is a 404 first). */
  let contractId = 'corpus-missing';
  const concrete = (template: string, values: Record<string, string> = params) =>
    template.replace(/:([A-Za-z]+)/g, (_, name: string) => (name === 'id' && template.startsWith('/fhir/Contract/') && values === params ? contractId : (values[name] ?? 'corpus-missing')));

  /** Sends one case; returns the problems with its answer (none when it is the refusal it should be). */
  async function problemsOf(c: Case): Promise<string[]> {
    const id = `wide-${process.pid}-${++n}`;
    const own = c.auth === undefined ? (PATIENT_FACING.test(c.path) ? patientToken : token) : tokens[c.auth]!;
    const authorization: Record<string, string> = c.auth === 'none' ? {} : { authorization: `Bearer ${own}` };
    const label = `${c.service} ${c.method} ${c.path.slice(0, 90)} — ${c.what}`;
    let res: RawAnswer;
    try {
      res = await sendRaw(urlOf(c.service, c.path), c.method, { 'x-request-id': id, ...authorization, ...(c.headers ?? {}) }, c.body, 60_000);
    } catch (err) {
      return [`${label}: ${(err as Error).message}`];
    }
    // The agency simulator is an agency's system: it logs its own exchanges, not the hub's audit stream.
    if (c.service !== 'agency-sim') sent.push({ id, what: label });
    const problems: string[] = [];
    if (!c.status.includes(res.status)) problems.push(`expected ${c.status.join('/')}, got ${res.status}`);
    if (res.status >= 400) {
      if (!/^application\/fhir\+json/.test(res.headers['content-type'] ?? '')) problems.push(`content-type ${res.headers['content-type']}`);
      try {
        const body = JSON.parse(res.text) as { resourceType?: string; issue?: { details?: { text?: string }; diagnostics?: string }[] };
        if (body.resourceType !== 'OperationOutcome') problems.push('not an OperationOutcome');
        if ((body.issue?.[0]?.details?.text ?? body.issue?.[0]?.diagnostics ?? '').length < 6) problems.push('no readable text');
      } catch {
        problems.push('body is not JSON');
      }
      if (c.names !== undefined && !res.text.includes(c.names)) problems.push(`does not name ${c.names}`);
      if (res.status === 405 && !res.headers.allow) problems.push('405 without Allow');
      if (res.status === 401 && !res.headers['www-authenticate']) problems.push('401 without WWW-Authenticate');
    }
    if (LEAK.test(res.text)) problems.push(`leaks ${LEAK.exec(res.text)?.[0]}`);
    return problems.length ? [`${label}: ${problems.join('; ')} — ${res.text.slice(0, 200)}`] : [];
  }

  /**
   * Runs cases a few at a time and lists every problem. The heavy bodies go one at a time: the hub runs in this
   * process, and parsing several megabytes at once could hold an audit write past its deadline (an honest 503).
   */
  async function run(cases: readonly Case[]): Promise<string[]> {
    const problems: string[] = [];
    const inLanes = async (list: readonly Case[], lanes: number) => {
      let next = 0;
      const lane = async () => {
        while (next < list.length) problems.push(...(await problemsOf(list[next++]!)));
      };
      await Promise.all(Array.from({ length: lanes }, lane));
    };
    await inLanes(cases.filter((c) => !HEAVY.has(c.what)), 4);
    await inLanes(cases.filter((c) => HEAVY.has(c.what)), 1);
    return problems;
  }

  /** Every key the hub keeps but its audit trail (and the counters and caches a refusal legitimately moves), with a digest of its value. */
  async function state(): Promise<Map<string, string>> {
    const redis = connectRedis(hub.redisUrl);
    try {
      const found = new Map<string, string>();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          if (NOT_STATE.test(key)) continue;
          // A hash field by field (a changed record is named by its id); anything else as Redis serialises it.
          if ((await redis.type(key)) === 'hash') {
            for (const [field, value] of Object.entries(await redis.hgetall(key))) found.set(`${key} ${field}`, digest(value));
          } else {
            const dump = await redis.dumpBuffer(key);
            found.set(key, dump ? digest(dump) : 'gone');
          }
        }
      } while (cursor !== '0');
      return found;
    } finally {
      await redis.quit();
    }
  }

  let before: Map<string, string>;

  beforeAll(async () => {
    preloadFhirDefinitions();
    // The suite runs minutes (over 7 on a loaded machine): tokens that outlive it, and none of the hub's own timed
    // passes falling inside it — the re-clustering pass a registration schedules (300 s by default) and the matching
    // model's growth check — else "changed nothing" and the later cases' 401s depended on the machine's speed.
    hub = await startTestHub(prefix, {
      env: { ...process.env, INFOSHARE_TOKEN_TTL_SECONDS: '3600', INFOSHARE_MPI_RECLUSTER_DELAY: '86400', INFOSHARE_MATCH_REESTIMATE_CHECK_SECONDS: '86400' },
    });
    const key = await loadTokenSigningKey(hub.config.token);
    const claims = { clientId: AGENCY, agency: AGENCY, partnership: PARTNERSHIP };
    token = issueAccessToken({ ...claims, scopes: ['system/*.*', 'system/Task.review', 'system/AuditEvent.attest', 'system/Contract.sign', 'system/Person.estimate'] }, key, hub.config.token).token;
    patientToken = issueAccessToken({ ...claims, patient: 'Patient/demo-child-1', scopes: [...PATIENT_SCOPES] }, key, hub.config.token).token;
    for (const [service, app] of Object.entries(hub.apps) as [ServiceName, NonNullable<RunningHub['apps'][ServiceName]>][]) {
      for (const route of routeTemplates(app)) routes.push({ service, route });
    }
    const [header, payload] = token.split('.') as [string, string];
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid: string; alg: string };
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    // Signed by hand with the hub's own key: jsonwebtoken refuses to sign most of these claims.
    const signWith = (claimsOf: Record<string, unknown>, headerOf: Record<string, unknown> = {}) => {
      const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: head.kid, ...headerOf })}.${b64(claimsOf)}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    const jwks = (await (await fetch(urlOf('directory', '/auth/jwks.json'))).json()) as { keys: object[] };
    const publicPem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const without = (name: string) => Object.fromEntries(Object.entries(body).filter(([k]) => k !== name));
    // Ailsa's (demo-child-1) Lead Professional: only they grant her Consents.
    tokens.leadProfessional = issueAccessToken(
      { clientId: 'edinburgh-social-work', agency: 'edinburgh-social-work', partnership: PARTNERSHIP, practitionerRole: 'PractitionerRole/role-ross-campbell', scopes: ['system/*.*'] },
      key,
      hub.config.token,
    ).token;
    Object.assign(tokens, {
      forgedSameKid: jwt.sign({ ...body, iat: now, exp: now + 300 }, other, { algorithm: 'ES256', keyid: head.kid }),
      unknownKid: signWith(body, { kid: 'no-such-key' }),
      protoKid: signWith(body, { kid: '__proto__' }),
      noKid: `${b64({ alg: 'ES256', typ: 'JWT' })}.${payload}.${token.split('.')[2]}`,
      algNoneNoSig: `${b64({ alg: 'none', typ: 'JWT', kid: head.kid })}.${payload}.`,
      algNoneUpper: `${b64({ alg: 'NONE', kid: head.kid })}.${payload}.`,
      hs256PublicKey: jwt.sign({ ...body, iat: now, exp: now + 300 }, publicPem, { algorithm: 'HS256', keyid: head.kid }),
      es512Header: `${b64({ alg: 'ES512', kid: head.kid })}.${payload}.${token.split('.')[2]}`,
      noExp: signWith(without('exp')),
      expString: signWith({ ...body, exp: 'never' }),
      notYet: signWith({ ...body, nbf: now + 3600 }),
      expired: signWith({ ...body, iat: now - 7200, exp: now - 3600 }),
      // A signed token good for ten years, or one issued in the future, or one without iat: no hub issues them (session 24).
      tenYears: signWith({ ...body, iat: now, exp: now + 10 * 365 * 86_400 }),
      issuedAhead: signWith({ ...body, iat: now + 3600, exp: now + 3900 }),
      noIat: signWith(without('iat')),
      noAudience: signWith(without('aud')),
      audienceArray: signWith({ ...body, aud: ['https://elsewhere.example'] }),
      noScope: signWith(without('scope')),
      scopeNumber: signWith({ ...body, scope: 42 }),
      scopeArray: signWith({ ...body, scope: ['system/*.*'] }),
      noAgency: signWith(without('agency')),
      agencyObject: signWith({ ...body, agency: { id: AGENCY } }),
      unknownAgency: signWith({ ...body, agency: 'no-such-agency' }),
      protoAgency: signWith({ ...body, agency: '__proto__' }),
      practitionerRoleBad: signWith({ ...body, practitionerRole: 'PractitionerRole/../x' }),
      critHeader: signWith(body, { crit: ['x-unknown'], 'x-unknown': 1 }),
      jkuHeader: signWith(body, { jku: 'http://127.0.0.1:1/jwks.json', kid: 'elsewhere' }),
      payloadArray: `${header}.${b64([1, 2])}.${token.split('.')[2]}`,
      payloadNotJson: `${header}.${Buffer.from('{not json').toString('base64url')}.${token.split('.')[2]}`,
      headerNotJson: `${Buffer.from('{').toString('base64url')}.${payload}.${token.split('.')[2]}`,
      // JSON, but not objects (RFC 7515 §4, RFC 7519 §7.2): a header `"x"` or `5` was a 500 on every route (session 23).
      headerString: `${b64('x')}.${payload}.${token.split('.')[2]}`,
      headerNumber: `${b64(5)}.${payload}.${token.split('.')[2]}`,
      headerNull: `${b64(null)}.${payload}.${token.split('.')[2]}`,
      payloadNull: `${header}.${b64(null)}.${token.split('.')[2]}`,
      twoParts: `${header}.${payload}`,
      fourParts: `${token}.x`,
      signatureCut: token.slice(0, -10),
      signatureNotBase64: `${header}.${payload}.!!!`,
      huge: `${header}.${b64({ ...body, pad: 'x'.repeat(9_000) })}.x`,
      withSpace: `${token} extra`,
      unicode: 'tökén',
    });
    const contracts = JSON.parse((await sendRaw(urlOf('directory', '/fhir/Contract?_count=1'), 'GET', { authorization: `Bearer ${token}` })).text) as { entry?: { resource: { id: string } }[] };
    contractId = contracts.entry?.[0]?.resource.id ?? 'corpus-missing';
    creates.push(...createBodies());
    // Each body the corpus spoils is first shown to be one the service accepts: a refusal is then the spoiling's doing.
    for (const c of creates) {
      const res = await sendRaw(urlOf(c.service, c.path), 'POST', { authorization: `Bearer ${c.auth ? tokens[c.auth]! : token}`, ...FJ }, json(c.accepted ?? c.body));
      if (res.status >= 300) throw new Error(`the corpus's valid ${c.type} was refused (${res.status}): ${res.text.slice(0, 300)}`);
    }
    // The accepted alert is delivered in the background: the state is read once it has settled.
    before = await state();
    for (let settled = false, tries = 0; !settled && tries < 40; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await state();
      settled = now.size === before.size && [...now].every(([k, v]) => before.get(k) === v);
      before = now;
    }
  }, 120_000);

  afterAll(() => stopTestHub(hub, prefix));

  function createBodies(): typeof creates {
    const patient = { reference: 'Patient/demo-child-1' };
    const message = () => alertMessage({ sender: AGENCY, subject: { local: 'WIDE-1' } });
    // Ailsa as her Lead Professional's agency identifies her: plans resolve a subject through the index.
    const ailsa = { identifier: { system: agencyPatientSystem('edinburgh-social-work'), value: 'demo-child-1' } };
    return [
      { service: 'directory', type: 'Organization', path: '/fhir/Organization', body: { resourceType: 'Organization', name: 'Wide corpus org' } },
      { service: 'directory', type: 'Practitioner', path: '/fhir/Practitioner', body: { resourceType: 'Practitioner', name: [{ family: 'Corpus' }] } },
      { service: 'directory', type: 'PractitionerRole', path: '/fhir/PractitionerRole', body: { resourceType: 'PractitionerRole', active: true, organization: { reference: `Organization/${AGENCY}` } } },
      { service: 'directory', type: 'CareTeam', path: '/fhir/CareTeam', body: { resourceType: 'CareTeam', status: 'active', subject: patient } },
      { service: 'directory', type: 'Endpoint', path: '/fhir/Endpoint', body: { resourceType: 'Endpoint', status: 'active', connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' }, payloadType: [{ text: 'alerts' }], address: 'https://example.org/fhir' } },
      { service: 'mpi', type: 'Patient', path: '/fhir/Patient', body: { resourceType: 'Patient', identifier: [{ system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value: 'WIDE-1' }], name: [{ family: 'Corpus', given: ['Wide'] }], birthDate: '2011-01-01', gender: 'female' } },
      // The plans service's types (its subject a person the index knows), its Consent (granted by the person's Lead Professional).
      { service: 'plans', type: 'CarePlan', path: '/fhir/CarePlan', auth: 'leadProfessional', body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', title: 'Wide corpus plan', subject: ailsa } },
      { service: 'plans', type: 'QuestionnaireResponse', path: '/fhir/QuestionnaireResponse', auth: 'leadProfessional', body: { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'https://fhir.infoshare.scot/Questionnaire/wellbeing-assessment', subject: ailsa, authored: '2026-11-20' } },
      { service: 'plans', type: 'ServiceRequest', path: '/fhir/ServiceRequest', auth: 'leadProfessional', body: { resourceType: 'ServiceRequest', status: 'draft', intent: 'order', code: { text: 'Family support worker' }, subject: ailsa, performer: [{ reference: 'Organization/edinburgh-social-work' }] } },
      { service: 'plans', type: 'Observation', path: '/fhir/Observation', auth: 'leadProfessional', body: { resourceType: 'Observation', status: 'final', code: { text: 'Missing from home overnight' }, subject: ailsa, effectiveDateTime: '2026-11-18T23:30:00Z' } },
      {
        service: 'plans',
        type: 'Consent',
        path: '/fhir/Consent',
        auth: 'leadProfessional',
        body: {
          resourceType: 'Consent',
          status: 'active',
          scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
          category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
          patient,
          policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
          provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Organization/${AGENCY}` } }] },
        },
      },
      // The auditor's documentary evidence.
      { service: 'audit', type: 'DocumentReference', path: '/fhir/DocumentReference', body: { resourceType: 'DocumentReference', status: 'current', category: [{ coding: [{ system: 'https://fhir.infoshare.scot/CodeSystem/maturity-criterion', code: 'GV-L3' }] }], description: 'Wide corpus evidence', date: '2026-11-30T00:00:00Z', authenticator: { display: 'J. Smith, Chief Officer' }, content: [{ attachment: { url: 'https://example.org/tor.pdf', title: 'Terms of reference' } }] } },
      // An alert: the message Bundle, and in it the MessageHeader (entry 0) and the Flag (entry 1).
      { service: 'alerts', type: 'Bundle', path: '/fhir/$process-message', body: message(), accepted: message(), nested: [{ index: 0, type: 'MessageHeader' }, { index: 1, type: 'Flag' }] },
    ];
  }

  /** The valid body for a write route of a service (a resource of the type its path names, or what its operation takes). */
  function validBodyFor(service: ServiceName, path: string): string {
    const type = /^\/fhir\/([A-Z][A-Za-z]+)/.exec(path)?.[1];
    if (path.includes('$process-message') || /\/agencies\/[^/]+\/fhir$/.test(path)) return json(alertMessage({ sender: AGENCY, subject: { local: 'WIDE-1' } }));
    // An operation on a type (`CarePlan/:id/$add-views`) takes Parameters, not the type.
    if (path.includes('$') || path.includes('_search')) return json({ resourceType: 'Parameters', parameter: [{ name: 'note', valueString: 'x' }] });
    const create = creates.find((c) => c.service === service && c.type === type);
    if (create) return json(create.body);
    return json({ resourceType: type ?? 'Parameters' });
  }

  /** Headers and body of a plausible request to a write route (`_search` takes a form). */
  function requestBodyFor(service: ServiceName, path: string): { headers: Record<string, string>; body: string } {
    if (path.endsWith('/_search')) return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '_count=1' };
    return { headers: FJ, body: validBodyFor(service, path) };
  }

  it('reads every route of every service from its router', () => {
    const services = new Set(routes.map((r) => r.service));
    expect([...services].sort()).toEqual(['agency-sim', 'alerts', 'audit', 'directory', 'mpi', 'plans']);
    expect(routes.length).toBeGreaterThan(150);
  });

  it('answers every method a path does not take with 405 and Allow', async () => {
    const byPath = new Map<string, { service: ServiceName; methods: Set<string> }>();
    for (const { service, route } of routes) {
      const key = `${service} ${concrete(route.path)}`;
      const entry = byPath.get(key) ?? { service, methods: new Set<string>() };
      entry.methods.add(route.method);
      byPath.set(key, entry);
    }
    const cases: Case[] = [];
    for (const [key, { service, methods }] of byPath) {
      const path = key.slice(service.length + 1);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (methods.has(method)) continue;
        // FHIR operations.html: an operation that changes nothing, routed as GET, may be POSTed a Parameters body too ('{}' is not one).
        const postedAsGet = method === 'POST' && methods.has('GET') && path.slice(path.lastIndexOf('/') + 1).startsWith('$');
        cases.push({ service, what: `${method} where ${[...methods].join('/')} is served`, method, path, status: postedAsGet ? [400] : [405], ...(method === 'GET' || method === 'DELETE' ? {} : { headers: FJ, body: '{}' }) });
      }
    }
    expect(cases.length).toBeGreaterThan(300);
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses hostile values in every path parameter of every route (400 or 404)', async () => {
    const cases: Case[] = [];
    for (const { service, route } of routes) {
      const names = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
      for (const name of names) {
        for (const hostile of HOSTILE_IDS) {
          const path = concrete(route.path, { ...params, [name]: hostile });
          const write = route.method !== 'GET' && route.method !== 'DELETE';
          // An update without If-Match where the service requires one (plans) is 428 whatever the id.
          cases.push({ service, what: `:${name} = ${hostile.slice(0, 40)}`, method: route.method, path, status: write ? [400, 404, 422, 428] : [400, 404], ...(write ? requestBodyFor(service, route.path) : {}) });
        }
      }
    }
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('answers hostile query strings on every GET route with a 4xx OperationOutcome or a success, never a 5xx', async () => {
    const cases: Case[] = [];
    for (const { service, route } of routes) {
      if (route.method !== 'GET') continue;
      for (const { what, query } of HOSTILE_QUERIES) {
        cases.push({ service, what, method: 'GET', path: `${concrete(route.path)}?${query}`, status: [200, 400, 404, 413, 414] });
      }
    }
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses a compartment search on every service with 400 (none is served), for every type it searches and forms a client sends', async () => {
    const cases: Case[] = [];
    for (const { service, route } of routes) {
      const type = route.method === 'GET' ? /^\/fhir\/([A-Z][A-Za-z]+)$/.exec(route.path)?.[1] : undefined;
      if (!type) continue;
      for (const owner of ['Patient/demo-child-1', 'Practitioner/corpus-missing', 'Patient/__proto__']) {
        cases.push({ service, what: `compartment ${owner}/${type}`, method: 'GET', path: `/fhir/${owner}/${type}?_count=1`, status: [400] });
      }
      cases.push({ service, what: `compartment ${type} posted`, method: 'POST', path: `/fhir/Patient/demo-child-1/${type}/_search`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '_count=1', status: [400] });
      cases.push({ service, what: 'compartment of every type', method: 'GET', path: '/fhir/Patient/demo-child-1/*', status: [400] });
    }
    expect(cases.length).toBeGreaterThan(40);
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses result parameters that are not numbers, and prototype keys, with 400 on every search', async () => {
    const searches = routes.filter(({ route }) => route.method === 'GET' && /^\/fhir\/[A-Z][A-Za-z]+$/.test(route.path));
    const cases: Case[] = searches.flatMap(({ service, route }) =>
      ['_count=1.5', '_count=0x10', '_count=99999999999999999999', '_count=1&_count=1', '__proto__[x]=1', 'constructor[prototype][x]=1', '_sort=__proto__', '_count=%00'].map((query) => ({ service, what: query, method: 'GET', path: `${route.path}?${query}`, status: [400] })),
    );
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses every search parameter a CapabilityStatement lists with an unknown modifier, and dates and numbers that are not ones (400)', async () => {
    const cases: Case[] = [];
    for (const service of ['directory', 'mpi', 'alerts', 'plans', 'audit'] as const) {
      const statement = JSON.parse((await sendRaw(urlOf(service, '/fhir/metadata'), 'GET', {})).text) as { rest: { resource?: { type: string; searchParam?: { name: string; type: string }[] }[] }[] };
      for (const resource of statement.rest[0]?.resource ?? []) {
        for (const p of resource.searchParam ?? []) {
          if (p.name.startsWith('_')) continue;
          const path = `/fhir/${resource.type}`;
          cases.push({ service, what: `${p.name}:bogus`, method: 'GET', path: `${path}?${p.name}:bogus=x`, status: [400] });
          if (p.type === 'date') for (const v of ['garbage', '2023-02-30', 'xx2023', '2023-01-01T25:00']) cases.push({ service, what: `${p.name}=${v}`, method: 'GET', path: `${path}?${p.name}=${v}`, status: [400] });
          if (p.type === 'number') cases.push({ service, what: `${p.name}=abc`, method: 'GET', path: `${path}?${p.name}=abc`, status: [400] });
        }
      }
    }
    expect(cases.length).toBeGreaterThan(40);
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses every kind of bad token with 401 on one route per service, and five kinds on every route', async () => {
    const secured = routes.filter(({ route }) => !PUBLIC.test(`${route.method} ${route.path}`));
    const cases: Case[] = [];
    const firstOf = new Set<ServiceName>();
    for (const { service, route } of secured) {
      const write = route.method !== 'GET' && route.method !== 'DELETE';
      const request = { service, method: route.method, path: concrete(route.path), ...(write ? requestBodyFor(service, route.path) : {}) };
      const kinds = firstOf.has(service) ? ['forgedSameKid', 'expired', 'algNoneNoSig', 'payloadNotJson', 'headerString'] : Object.keys(tokens).filter((k) => !SIGNED_BUT_UNKNOWN.has(k) && !ACTING.has(k));
      firstOf.add(service);
      for (const kind of kinds) cases.push({ ...request, what: `token ${kind}`, auth: kind, status: [401] });
      cases.push({ ...request, what: 'no token', auth: 'none', status: [401] });
      cases.push({ ...request, what: 'Authorization twice', auth: 'none', headers: { ...(request.headers ?? {}), authorization: `Bearer ${token}, Bearer ${tokens.expired}` }, status: [401] });
    }
    // Signed by the hub, naming an agency it does not know: verified, then refused by what the agency may do.
    for (const auth of SIGNED_BUT_UNKNOWN) {
      cases.push({ service: 'alerts', what: `token ${auth}`, auth, method: 'POST', path: '/fhir/$process-message', headers: FJ, body: validBodyFor('alerts', '/fhir/$process-message'), status: [401, 403] });
    }
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses malformed bodies on every route that takes one with the status of their kind', async () => {
    const cases: Case[] = [];
    const heavyDone = new Set<ServiceName>();
    for (const { service, route } of routes) {
      if (route.method !== 'POST' && route.method !== 'PUT') continue;
      // Form endpoints (the token endpoint, `_search`): their own cases in the independent corpus. The simulator's
      // controls (pull, reset) take no body and are its testers' switches, not the hub's API: left out.
      if (route.path === '/auth/token' || route.path.endsWith('/_search') || /\/(pull|reset)$/.test(route.path)) continue;
      const valid = validBodyFor(service, route.path);
      // The heavy bodies (1.5 MB, 100,000 nulls) once per service: the shell refuses them before any route.
      const heavy = !heavyDone.has(service);
      heavyDone.add(service);
      for (const b of hostileBodies(valid)) {
        if (!heavy && HEAVY.has(b.what)) continue;
        const path = concrete(route.path);
        if (NO_BYTES.has(b.what) && BODY_OPTIONAL.test(path)) continue;
        // Where the path names something that is not there, saying so first is as right as refusing the body.
        const status = [...b.status, ...(path.includes('corpus-missing') ? [404] : [])];
        // The MPI's transaction endpoint takes bulk loads (50 MB): 1.5 MB is within its limit, and not a Bundle.
        // An update without If-Match where the service requires one (plans) is 428 whatever the body; media-type
        // parameters such as fhirVersion are FHIR's, checked on FHIR paths.
        if (route.method === 'PUT' && service === 'plans') status.push(428);
        if (!path.startsWith('/fhir')) status.push(400, 422);
        // The simulator's delivery endpoints check the hub's delivery token before anything else.
        if (service === 'agency-sim' && /\/fhir(\/\$process-message)?$/.test(path)) status.push(401);
        cases.push({ service, what: b.what, method: route.method, path, headers: b.headers ?? FJ, body: b.body, status: service === 'mpi' && path === '/fhir' && b.what === 'a 1.5 MB body' ? [422] : status });
      }
    }
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('refuses the wrong JSON type in every element of every resource a service creates, and of each resource in an alert message (400 or 422)', async () => {
    const cases: Case[] = [];
    const covered = new Set<string>();
    for (const c of creates) {
      const targets = [{ type: c.type, at: c.type, spoil: (key: string, wrong: unknown) => ({ ...c.body, [key]: wrong }) }];
      for (const { index, type } of c.nested ?? []) {
        const entries = (c.body as { entry: { resource: object }[] }).entry;
        targets.push({ type, at: `${c.type}.entry[${index}].resource`, spoil: (key, wrong) => ({ ...c.body, entry: entries.map((e, i) => (i === index ? { ...e, resource: { ...e.resource, [key]: wrong } } : e)) }) });
      }
      for (const target of targets) {
        covered.add(target.type);
        const schema = tryGetDataType(target.type)!;
        for (const [name, element] of Object.entries(schema.elements)) {
          if (name === 'resourceType' || name === 'id') continue;
          const single = element.max === 1;
          for (const type of element.type) {
            const key = name.endsWith('[x]') ? name.replace('[x]', type.code.charAt(0).toUpperCase() + type.code.slice(1)) : name;
            const jsType = /^(boolean)$/.test(type.code) ? 'boolean' : /^(integer|decimal|positiveInt|unsignedInt|integer64)$/.test(type.code) ? 'number' : /^[a-z]/.test(type.code) ? 'string' : 'object';
            for (const wrong of wrongValues(single, jsType)) {
              cases.push({ service: c.service, what: `${target.type}.${key} = ${json(wrong)}`, method: 'POST', path: c.path, headers: FJ, body: json(target.spoil(key, wrong)), status: [400, 422], names: `${target.at}.${key}`, ...(c.auth ? { auth: c.auth } : {}) });
            }
            if (name.endsWith('[x]')) break; // one choice is enough to show the shape check
          }
        }
      }
    }
    expect([...covered].sort()).toEqual(['Bundle', 'CarePlan', 'CareTeam', 'Consent', 'DocumentReference', 'Endpoint', 'Flag', 'MessageHeader', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole', 'QuestionnaireResponse', 'ServiceRequest']);
    expect(cases.length).toBeGreaterThan(1500);
    expect(await run(cases)).toEqual([]);
  }, 300_000);

  it('refuses impossible dates, periods that end before they start and malformed references (422)', async () => {
    const org = (extra: object) => json({ resourceType: 'Organization', name: 'Wide corpus org', ...extra });
    const careTeam = (extra: object) => json({ resourceType: 'CareTeam', status: 'active', subject: { reference: 'Patient/demo-child-1' }, ...extra });
    const patient = (extra: object) => json({ resourceType: 'Patient', identifier: [{ system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value: 'WIDE-2' }], name: [{ family: 'Corpus' }], birthDate: '2011-01-01', gender: 'female', ...extra });
    const cases: Case[] = [];
    const add = (service: ServiceName, path: string, what: string, body: string, status = [422]) => cases.push({ service, what, method: 'POST', path, headers: FJ, body, status });
    for (const d of ['2023-13-01', '2023-00-10', '2023-02-29', '2023-04-31', '2023-1-1', '2023/01/01', '20230101', ' 2023-01-01', '2023-01-01T10:00:00Z', '', '0000-00-00', '99999-01-01']) {
      add('mpi', '/fhir/Patient', `birthDate ${json(d)}`, patient({ birthDate: d }));
    }
    for (const dt of ['2023-01-01T10:00:00', '2023-01-01T25:00:00Z', '2023-01-01T10:60:00Z', '2023-01-01T10:00:61Z', '2023-01-01T10:00:00+25:00', '2023-01-01T10:00Z', '2023-02-30T10:00:00Z', '2023-01-01 10:00:00Z', 'yesterday']) {
      add('directory', '/fhir/CareTeam', `period.start ${json(dt)}`, careTeam({ period: { start: dt } }));
      add('mpi', '/fhir/Patient', `deceasedDateTime ${json(dt)}`, patient({ deceasedDateTime: dt }));
    }
    add('directory', '/fhir/CareTeam', 'a period that ends before it starts (per-1)', careTeam({ period: { start: '2024-01-02', end: '2024-01-01' } }));
    add('directory', '/fhir/CareTeam', 'a dateTime period that ends before it starts (per-1)', careTeam({ period: { start: '2024-01-01T12:00:00Z', end: '2024-01-01T11:00:00Z' } }));
    add('directory', '/fhir/PractitionerRole', 'a PractitionerRole period that ends before it starts', json({ resourceType: 'PractitionerRole', period: { start: '2025-06-01', end: '2020-01-01' } }));
    add('mpi', '/fhir/Patient', 'a name period that ends before it starts', patient({ name: [{ family: 'Corpus', period: { start: '2020-01-01', end: '2019-01-01' } }] }));
    for (const ref of ['Patient/', '/Patient/x', 'Patient/x/y', 'Patient/../Organization/x', 'Patient/%2E%2E', '#missing', 'Patient/x y', 'Patient/' + 'x'.repeat(65), '', ' ', 'urn:uuid:not-a-uuid', 'Patient/__proto__/x']) {
      add('directory', '/fhir/CareTeam', `subject.reference ${json(ref)}`, careTeam({ subject: { reference: ref } }));
    }
    add('directory', '/fhir/CareTeam', 'a subject of a type the element does not take', careTeam({ subject: { reference: 'Organization/nhs-lothian' } }), [400, 422]);
    add('directory', '/fhir/PractitionerRole', 'an organization reference naming a Patient', json({ resourceType: 'PractitionerRole', organization: { reference: 'Patient/x' } }), [400, 422]);
    add('directory', '/fhir/Organization', 'partOf a reference whose type disagrees with its reference', org({ partOf: { reference: 'Organization/x', type: 'Patient' } }), [400, 422]);
    add('directory', '/fhir/Organization', 'an empty string', org({ alias: [''] }));
    add('directory', '/fhir/Organization', 'a string of spaces', org({ alias: ['   '] }));
    add('directory', '/fhir/Organization', 'an empty object', org({ partOf: {} }));
    add('directory', '/fhir/Organization', 'an empty array', org({ alias: [] }));
    add('directory', '/fhir/Organization', 'a uri with a space', org({ identifier: [{ system: 'http://x y', value: '1' }] }));
    add('mpi', '/fhir/Patient', 'an integer beyond 32 bits', patient({ multipleBirthInteger: 2_147_483_648 }));
    add('mpi', '/fhir/Patient', 'a decimal where an integer is expected', patient({ multipleBirthInteger: 1.5 }));
    add('mpi', '/fhir/Patient', 'a primitive extension of the wrong shape', patient({ _birthDate: 'x', birthDate: '2011-01-01' }));
    add('mpi', '/fhir/Patient', 'a primitive extension array where one is single', patient({ _birthDate: [{}], birthDate: '2011-01-01' }));
    add('mpi', '/fhir/Patient', 'an extension without url', patient({ extension: [{ valueString: 'x' }] }));
    add('mpi', '/fhir/Patient', 'an extension with two values', patient({ extension: [{ url: 'http://x', valueString: 'x', valueBoolean: true }] }));
    add('mpi', '/fhir/Patient', 'two choices of one element', patient({ deceasedBoolean: true, deceasedDateTime: '2020-01-01' }));
    add('mpi', '/fhir/Patient', 'a contained resource that is not one', patient({ contained: [{ id: 'x' }] }));
    add('mpi', '/fhir/Patient', 'a contained resource of an unknown type', patient({ contained: [{ resourceType: 'Nothing', id: 'x' }] }));
    add('mpi', '/fhir/Patient', 'an unknown element', patient({ colour: 'blue' }));
    add('mpi', '/fhir/Patient', 'an element in another case', patient({ BirthDate: '2011-01-01' }));
    add('mpi', '/fhir/Patient', 'a telecom system outside its value set', patient({ telecom: [{ system: 'pigeon', value: 'x' }] }));
    add('mpi', '/fhir/Patient', 'meta.lastUpdated that is no instant', patient({ meta: { lastUpdated: '2023-02-30T00:00:00Z' } }));
    expect(await run(cases)).toEqual([]);
  }, 120_000);

  it('audited every refused exchange under its request id, as a refusal', async () => {
    const deadline = Date.now() + 20_000;
    const redis = connectRedis(hub.redisUrl);
    try {
      let missing = sent;
      let accepted: string[] = [];
      while (Date.now() < deadline) {
        const entries = await readAuditEntries(redis, hub.deps.keys, { count: 10_000_000 });
        const byId = new Map(entries.map(({ entry }) => [entry.requestId, entry]));
        missing = sent.filter((s) => !byId.has(s.id));
        accepted = sent.filter((s) => byId.get(s.id)?.outcome === '0').map((s) => s.what);
        if (missing.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(sent.length).toBeGreaterThan(3000);
      expect(missing.map((m) => m.what)).toEqual([]);
      // A 2xx answer to a hostile query (a search that found nothing) is audited as a success; every refusal is not.
      expect(accepted.filter((what) => !/ GET /.test(what))).toEqual([]);
    } finally {
      await redis.quit();
    }
  }, 120_000);

  it('changed nothing: every key but the audit trail holds what it held before the corpus', async () => {
    const after = await state();
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).map((k) => `${k}: ${before.has(k) ? (after.has(k) ? 'changed' : 'deleted') : 'added'}`);
    expect(changed).toEqual([]);
  });
});
