/**
 * `npm run bench:plans` — what consent enforcement costs per read (issue 13, item 11).
 *
 * Loads, straight through the stores (the load is not what is measured): N people
 * (default 10,000), each with one plan in V versions (default 5: 50,000 plan versions),
 * and C Consents (default 2 per person: 20,000) — a grant of their plans to Edinburgh
 * education and a withholding of alerts from another agency — then reads plans over
 * HTTP as education at a fixed rate (default 300 reads/s, open loop: a request leaves
 * on schedule whether or not the last one answered):
 *
 *   1. consent-checked: the hub's plans service as deployed (every read decides over
 *      the person's Consents read from Redis, and audits the decision);
 *   2. baseline: the same reads against a second plans service on the same Redis and
 *      hub with the consent check off (`INFOSHARE_PLANS_CONSENT_CHECK=off`, the flag
 *      only this benchmark uses) — the ISP check, audit and store reads unchanged.
 *
 * Both are warmed up, then measured in 4 interleaved slices each (each first in turn),
 * so what a shared machine does meanwhile falls on both alike — for 60 s each by default (`--seconds`): the p99
 * is set by the few scavenges of the window (README, Plans, session 19), so 20 s gave a figure that moved with
 * which of them fell in it. Then a 200-event chronology (one person, 40 plans × 5 versions) read one request at
 * a time. The hub runs in this process on free ports over a private redis-server (`appendfsync everysec`, as
 * for every load test) — all but the two plans services and the audit service, which run in processes of
 * their own as docker-compose runs them (plans with its `--max-semi-space-size=64`): the reads' client then
 * shares neither the plans service's event loop nor its garbage. `--plans in-process` keeps both plans
 * services in this process beside the client (the topology before session 18); `--profile` profiles the process
 * serving each slice (the plans process apart, over the pause probe's channel; this one in-process);
 * `--audit in-process` keeps the audit service here. CPU time, GC pauses and JS heap allocated per read are
 * those of the process serving the reads — the plans process, or this one when in-process (client included)
 * — for both runs (the lead's rule on a shared machine: compare in one run).
 * Progress on stderr; ONE JSON line on stdout, also appended to bench/results/plans.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CarePlan, Consent } from 'fhir/r4.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { CodeSystems } from '../shared/fhir/systems.js';
import { portSettings, SERVICE_NAMES } from '../shared/config.js';
import { listen, reserveFreePorts } from '../shared/runtime/listen.js';
import { ResourceStore } from '../shared/store/resource-store.js';
import { startHub, type RunningHub } from '../services/hub.js';
import { loadPlansConfig } from '../services/plans/config.js';
import { consentStore, withPerson } from '../services/plans/consent-store.js';
import { withAccessTags } from '../services/plans/domain/access.js';
import { PLANS_FAMILY } from '../services/plans/keys.js';
import { plansService } from '../services/plans/module.js';
import { PLANS_RESOURCE_TYPES } from '../services/plans/resource-types.js';
import { choiceFlag, keepResult, optionsOrExit, positiveFlag, progressPrinter, readFlags, UsageError } from './common/cli.js';
import { BenchClient } from './common/http-client.js';
import { benchHubEnv } from './common/hub-env.js';
import { summarise, timeSequential } from './common/latency.js';
import { PauseMeter } from './common/pauses.js';
import { Profiler, type ProfileKind } from './common/profile.js';
import { startServiceProcess, type ServiceProcess } from './common/service-process.js';

const TARGETS = { consentReadP99Ms: 15, overhead: 0.2, chronologyP99Ms: 50 } as const;
const AUTHOR = 'edinburgh-social-work';
const READER = 'edinburgh-education';
const PARTNERSHIP = 'lothian-hscp';
const LOAD_BATCH = 500;
/** Slices each run is measured in, interleaved with the other run's. */
const SLICES = 4;
const IRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };

const USAGE = `npm run bench:plans -- [--people 10000] [--versions 5] [--consents-per-person 2] [--rate 300] [--seconds 60] [--chronology-reads 300] [--plans apart|in-process] [--plans-flags '--trace-gc …'] [--audit apart|in-process] [--profile cpu|heap|survivors|promoted] [--profile-dir /tmp/plans-profile] [--out bench/results/plans.json]`;

/** The plans services' Node flags, as docker-compose's NODE_OPTIONS gives the plans service (README, Plans). */
const PLANS_NODE_ARGS = ['--max-semi-space-size=64'];

interface Options {
  readonly people: number;
  readonly versions: number;
  readonly consentsPerPerson: number;
  readonly rate: number;
  readonly seconds: number;
  readonly chronologyReads: number;
  /** Where the two plans services run: processes of their own (as deployed), or this one beside the client. */
  readonly plans: 'apart' | 'in-process';
  /** Node flags for the plans processes apart, after docker-compose's (a later flag wins: `--max-semi-space-size=16` replaces 64). */
  readonly plansFlags: readonly string[];
  /** Where the audit service (appending every record to the log, indexing it) runs: its own process (as deployed), or this one. */
  readonly audit: 'apart' | 'in-process';
  /** A CPU or allocation profile of the process serving each measured slice (bench/common/profile.ts: the plans process apart, else this one), written under `profileDir`. */
  readonly profile?: ProfileKind;
  readonly profileDir: string;
  readonly out: string;
}

function parse(argv: readonly string[]): Options {
  const flags = readFlags(argv, ['people', 'versions', 'consents-per-person', 'rate', 'seconds', 'chronology-reads', 'plans', 'plans-flags', 'audit', 'profile', 'profile-dir', 'out']);
  const audit = choiceFlag(flags, 'audit', ['apart', 'in-process'] as const, 'apart');
  const plans = choiceFlag(flags, 'plans', ['apart', 'in-process'] as const, 'apart');
  const plansFlags = (flags.get('plans-flags') ?? '').split(/\s+/).filter((flag) => flag.length > 0);
  if (plansFlags.length > 0 && plans !== 'apart') throw new UsageError('--plans-flags are for the plans processes apart');
  const consentsPerPerson = positiveFlag(flags, 'consents-per-person', 2);
  if (consentsPerPerson > 2) throw new UsageError('--consents-per-person is 1 or 2');
  return {
    people: positiveFlag(flags, 'people', 10_000),
    versions: positiveFlag(flags, 'versions', 5),
    consentsPerPerson,
    rate: positiveFlag(flags, 'rate', 300),
    seconds: positiveFlag(flags, 'seconds', 60),
    chronologyReads: positiveFlag(flags, 'chronology-reads', 300),
    plans,
    plansFlags,
    audit,
    ...(flags.has('profile') ? { profile: choiceFlag(flags, 'profile', ['cpu', 'heap', 'survivors', 'promoted'] as const, 'cpu') } : {}),
    profileDir: flags.get('profile-dir') ?? path.join(os.tmpdir(), 'plans-profile'),
    out: flags.get('out') ?? 'bench/results/plans.json',
  };
}

const progress = progressPrinter('plans');

async function main(): Promise<void> {
  const options = optionsOrExit(parse, USAGE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-plans-'));
  let hub: RunningHub | undefined;
  let baselineServer: { close(): Promise<void> } | undefined;
  let baselineClose: (() => Promise<void>) | undefined;
  let auditProcess: ServiceProcess | undefined;
  const plansProcesses: ServiceProcess[] = [];
  try {
    const env = benchHubEnv(tmp);
    const where = (mode: Options['plans']) => (mode === 'apart' ? 'apart' : 'in this process');
    progress(`starting the hub (private redis-server, free ports; the plans services ${where(options.plans)}, the audit service ${where(options.audit)})`);
    const inProcess = SERVICE_NAMES.filter(
      (name) => name !== 'agency-sim' && (options.audit === 'in-process' || name !== 'audit') && (options.plans === 'in-process' || name !== 'plans'),
    );
    hub = await startHub({ env, freePorts: true, loadDemoPeople: true, services: inProcess });
    const { deps, config } = hub;
    // A service apart runs as docker-compose runs it, on the hub's Redis, key prefix and ports.
    const apartEnv = { ...env, ...portSettings(config.ports), REDIS_URL: hub.redisUrl, INFOSHARE_KEY_PREFIX: config.keyPrefix };
    if (options.audit === 'apart') {
      // The log's appending and indexing of every record off the plans service's event loop.
      auditProcess = await startServiceProcess('audit', config.urls.audit, apartEnv);
    }

    // The baseline: the same plans service on the same hub and Redis, consent check off.
    const [port] = await reserveFreePorts(1);
    const baselineUrl = `http://${config.host}:${port}`;
    let checkedProcess: ServiceProcess | undefined;
    let baselineProcess: ServiceProcess | undefined;
    if (options.plans === 'apart') {
      const plansOptions = { nodeArgs: [...PLANS_NODE_ARGS, ...options.plansFlags], pauseProbe: true };
      checkedProcess = await startServiceProcess('plans', config.urls.plans, apartEnv, plansOptions);
      plansProcesses.push(checkedProcess);
      baselineProcess = await startServiceProcess('plans', baselineUrl, { ...apartEnv, INFOSHARE_PLANS_PORT: String(port), INFOSHARE_PLANS_CONSENT_CHECK: 'off' }, plansOptions);
      plansProcesses.push(baselineProcess);
      progress(`plans processes: consent-checked pid ${checkedProcess.pid}, baseline pid ${baselineProcess.pid}`);
    } else {
      const baseline = await plansService.createService(deps, { ...loadPlansConfig(env), consentCheck: false });
      baselineClose = () => baseline.close();
      baselineServer = await listen(baseline.app, port!, config.host);
    }

    const store = new ResourceStore(deps.redis, deps.keys, PLANS_RESOURCE_TYPES, { family: PLANS_FAMILY });
    const consents = consentStore(deps.redis, deps.keys);
    const personOf = (i: number) => `bench-person-${i}`;
    const planIds: string[] = [];

    progress(`loading ${options.people} people × ${options.versions} plan versions and ${options.people * options.consentsPerPerson} Consents`);
    const loadStart = performance.now();
    for (let start = 0; start < options.people; start += LOAD_BATCH) {
      const batch = Array.from({ length: Math.min(LOAD_BATCH, options.people - start) }, (_, k) => start + k);
      await Promise.all(batch.map((i) => writePlanVersions(store, `bench-plan-${i}`, personOf(i), options.versions)));
      await Promise.all(batch.flatMap((i) => consentsFor(personOf(i), options.consentsPerPerson).map((c) => consents.create(withPerson(c, personOf(i))))));
      for (const i of batch) planIds.push(`bench-plan-${i}`);
      if ((start / LOAD_BATCH) % 4 === 0) progress(`  ${start + batch.length} people loaded`);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;

    // The chronology person: registered in the index (the chronology resolves its subject there), 40 plans × 5 versions.
    const chronologyPerson = await registerChronologyPerson(hub);
    await Promise.all(Array.from({ length: 40 }, (_, k) => writePlanVersions(store, `bench-chrono-${k}`, chronologyPerson.personId, 5)));
    await consents.create(withPerson(consentsFor('chronology', 1)[0]!, chronologyPerson.personId));

    const signingKey = await loadTokenSigningKey(config.token);
    const token = issueAccessToken({ clientId: READER, agency: READER, partnership: PARTNERSHIP, scopes: ['system/CarePlan.read'] }, signingKey, config.token).token;
    const checkedClient = new BenchClient(config.urls.plans, 256);
    const baselineClient = new BenchClient(baselineUrl, 256);

    const sanity = await checkedClient.get(`/fhir/CarePlan/${planIds[0]}`, token);
    if (sanity.status !== 200) throw new Error(`a consent-checked read answered ${sanity.status}: ${sanity.body.slice(0, 300)}`);

    progress(`warming up both, then consent-checked and baseline reads interleaved in ${SLICES} slices each, at ${options.rate}/s for ${options.seconds}s each`);
    await fixedRate(checkedClient, token, planIds, options.rate, 2);
    await fixedRate(baselineClient, token, planIds, options.rate, 2);
    // Interleaved, each first in turn: whatever the shared machine does meanwhile (another process's burst, the
    // load phase's garbage, JIT warming) falls on both runs alike.
    const checked = new RunMeter(deps.redis, auditProcess, checkedProcess);
    const unchecked = new RunMeter(deps.redis, auditProcess, baselineProcess);
    const slice = options.seconds / SLICES;
    const profiler = options.profile ? new Profiler(options.profileDir, options.profile) : undefined;
    // Apart, each slice's profile is the plans process's that serves it (taken there, over the pause probe's channel).
    const profileOf = (served: ServiceProcess | undefined) =>
      options.profile && served?.pauses
        ? { start: () => served.pauses!.profileStart(options.profile!, options.profileDir), stop: (name: string) => served.pauses!.profileStop(name) }
        : profiler;
    for (let i = 0; i < SLICES; i++) {
      const order: [RunMeter, BenchClient, string, ServiceProcess | undefined][] = [
        [checked, checkedClient, 'checked', checkedProcess],
        [unchecked, baselineClient, 'baseline', baselineProcess],
      ];
      for (const [meter, client, name, served] of i % 2 === 0 ? order : order.reverse()) {
        const profile = profileOf(served);
        await profile?.start();
        await meter.measure(() => fixedRate(client, token, planIds, options.rate, slice));
        await profile?.stop(`${name}-${i}`);
      }
    }
    profiler?.close();
    const [checkedRun, uncheckedRun] = [await checked.finish(), await unchecked.finish()];

    progress(`chronology of 200 events, ${options.chronologyReads} reads one at a time`);
    const chronologyPath = `/fhir/Patient/${chronologyPerson.recordId}/$chronology?category=plan`;
    const first = await checkedClient.get(chronologyPath, token);
    const entries = first.status === 200 ? ((JSON.parse(first.body) as { entry?: unknown[] }).entry ?? []).length : -1;
    if (first.status !== 200) throw new Error(`the chronology answered ${first.status}: ${first.body.slice(0, 300)}`);
    const chronology = await timeSequential(options.chronologyReads, async () => {
      const res = await checkedClient.get(chronologyPath, token);
      if (res.status !== 200) throw new Error(`chronology ${res.status}`);
    });

    checkedClient.close();
    baselineClient.close();
    const overhead = round(checkedRun.latency.p99Ms / uncheckedRun.latency.p99Ms - 1);
    const result = {
      bench: 'plans',
      at: new Date().toISOString(),
      people: options.people,
      planVersions: options.people * options.versions,
      consents: options.people * options.consentsPerPerson,
      loadSeconds: round(loadSeconds),
      readsPerSecond: round(checkedRun.achievedRate),
      targetRate: options.rate,
      consentReadP50Ms: checkedRun.latency.p50Ms,
      consentReadP99Ms: checkedRun.latency.p99Ms,
      baselineReadP50Ms: uncheckedRun.latency.p50Ms,
      baselineReadP99Ms: uncheckedRun.latency.p99Ms,
      overhead,
      // Where the plans services ran: `apart`, the figures below are the plans process's; `in-process`, this process's (client included).
      plans: options.plans,
      consentCpuMsPerRead: checkedRun.cpuMsPerRead,
      baselineCpuMsPerRead: uncheckedRun.cpuMsPerRead,
      cpuOverhead: round(checkedRun.cpuMsPerRead / uncheckedRun.cpuMsPerRead - 1),
      // JS heap allocated per read in the process serving the reads: the garbage each read makes, load-independent.
      consentAllocatedKbPerRead: checkedRun.allocatedKbPerRead,
      baselineAllocatedKbPerRead: uncheckedRun.allocatedKbPerRead,
      // CPU of this process (the client, and the rest of the hub) per read, when the plans services run apart.
      ...(checkedRun.clientCpuMsPerRead !== undefined ? { consentClientCpuMsPerRead: checkedRun.clientCpuMsPerRead } : {}),
      ...(uncheckedRun.clientCpuMsPerRead !== undefined ? { baselineClientCpuMsPerRead: uncheckedRun.clientCpuMsPerRead } : {}),
      audit: options.audit,
      // CPU of the audit service's own process per read (appending and indexing the read's records), when it runs apart.
      ...(checkedRun.auditCpuMsPerRead !== undefined ? { consentAuditCpuMsPerRead: checkedRun.auditCpuMsPerRead } : {}),
      ...(uncheckedRun.auditCpuMsPerRead !== undefined ? { baselineAuditCpuMsPerRead: uncheckedRun.auditCpuMsPerRead } : {}),
      // Redis commands per read, the whole hub's (those inside scripts and the audit service's appending and indexing included): load-independent.
      consentRedisCallsPerRead: checkedRun.redisCallsPerRead,
      baselineRedisCallsPerRead: uncheckedRun.redisCallsPerRead,
      consentRedisRoundTripsPerRead: checkedRun.redisRoundTripsPerRead,
      baselineRedisRoundTripsPerRead: uncheckedRun.redisRoundTripsPerRead,
      // Where the tail comes from: the serving process's event loop held up (GC, background work).
      consentPauses: checkedRun.pauses,
      baselinePauses: uncheckedRun.pauses,
      errors: checkedRun.errors + uncheckedRun.errors,
      chronologyEvents: entries,
      chronologyP50Ms: chronology.p50Ms,
      chronologyP99Ms: chronology.p99Ms,
      targets: TARGETS,
      met: {
        consentReadP99Ms: checkedRun.latency.p99Ms <= TARGETS.consentReadP99Ms,
        overhead: overhead <= TARGETS.overhead,
        chronologyP99Ms: chronology.p99Ms <= TARGETS.chronologyP99Ms,
      },
      machine: { cpus: os.cpus().length, loadavg: os.loadavg().map(round) },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    keepResult(options.out, result, 'append', progress);
  } finally {
    await baselineServer?.close();
    await baselineClose?.();
    for (const served of plansProcesses) await served.stop();
    await auditProcess?.stop();
    await hub?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A plan in `versions` versions (create, then updates), tagged as the plans service tags it. */
async function writePlanVersions(store: ResourceStore, id: string, personId: string, versions: number): Promise<void> {
  const plan: CarePlan = {
    resourceType: 'CarePlan',
    id,
    meta: withAccessTags(undefined, AUTHOR, personId),
    status: 'active',
    intent: 'plan',
    title: 'Child’s plan',
    subject: { reference: `Person/${personId}` },
    author: { reference: `Organization/${AUTHOR}` },
    description: 'Support at home and at school; review in six weeks.',
  };
  await store.create(plan);
  for (let v = 2; v <= versions; v++) {
    await store.update({ ...plan, description: `Reviewed (version ${v}): support continues.` }, { ifMatch: String(v - 1) });
  }
}

/** The person's Consents: their plans shared with education; their alerts withheld from housing. */
function consentsFor(person: string, count: number): Consent[] {
  const base = (id: string, provision: NonNullable<Consent['provision']>['provision']): Consent => ({
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: CodeSystems.consentScope, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${person}` },
    policyRule: { coding: [{ system: CodeSystems.actCode, code: 'OPTIN' }] },
    provision: { type: 'deny', provision },
  });
  const all = [
    base(`${person}-share`, [{ type: 'permit', actor: [{ role: IRCP, reference: { reference: `Organization/${READER}` } }], class: [{ system: CodeSystems.consentCategory, code: 'plans' }] }]),
    base(`${person}-withhold`, [{ type: 'deny', actor: [{ role: IRCP, reference: { reference: 'Organization/edinburgh-housing' } }], class: [{ system: CodeSystems.consentCategory, code: 'alerts' }] }]),
  ];
  return all.slice(0, count);
}

async function registerChronologyPerson(hub: RunningHub): Promise<{ recordId: string; personId: string }> {
  const signingKey = await loadTokenSigningKey(hub.config.token);
  const token = issueAccessToken({ clientId: AUTHOR, agency: AUTHOR, partnership: PARTNERSHIP, scopes: ['system/Patient.write', 'system/Patient.read'] }, signingKey, hub.config.token).token;
  const client = new BenchClient(hub.urls.mpi!, 4);
  const res = await client.post(
    '/fhir/Patient',
    JSON.stringify({
      resourceType: 'Patient',
      identifier: [{ system: `https://fhir.infoshare.scot/id/patient/${AUTHOR}`, value: 'BENCH-CHRONO-1' }],
      name: [{ given: ['Morven'], family: 'Benchley' }],
      birthDate: '2015-06-01',
      gender: 'female',
      address: [{ postalCode: 'EH6 5DT' }],
    }),
    token,
  );
  client.close();
  if (res.status !== 201 && res.status !== 200) throw new Error(`registering the chronology person: ${res.status} ${res.body.slice(0, 300)}`);
  const patient = JSON.parse(res.body) as { id: string; extension?: { url: string; extension?: { url: string; valueReference?: { reference?: string } }[] }[] };
  const person = JSON.stringify(patient).match(/"Person\/([A-Za-z0-9\-.]+)"/)?.[1];
  if (!person) throw new Error('the MPI named no Person for the chronology person');
  return { recordId: patient.id, personId: person };
}

/** One slice of reads: each latency, the failures, how long it took. */
interface RateSlice {
  readonly samples: readonly number[];
  readonly errors: number;
  readonly seconds: number;
}

/** Reads at a fixed rate (open loop) for `seconds`; latency from each request's send to its answer. */
async function fixedRate(client: BenchClient, token: string, ids: readonly string[], rate: number, seconds: number): Promise<RateSlice> {
  const total = Math.round(rate * seconds);
  const samples: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const start = performance.now();
    inFlight.push(
      client.get(`/fhir/CarePlan/${id}`, token).then(
        (res) => {
          samples.push(performance.now() - start);
          if (res.status !== 200) errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { samples, errors, seconds: (performance.now() - t0) / 1000 };
}

/**
 * One mode's measurement over its slices: latency, CPU of the serving process (the plans process, or this one)
 * and of the audit process, Redis commands, the serving process's pauses and allocation.
 */
class RunMeter {
  readonly #samples: number[] = [];
  #errors = 0;
  #seconds = 0;
  #cpuMicros = 0;
  #servedCpuSeconds: number | undefined = 0;
  #auditCpuSeconds: number | undefined = 0;
  #redisCalls = 0;
  #redisReads = 0;
  readonly #pauses = new PauseMeter();

  constructor(
    private readonly redis: RunningHub['deps']['redis'],
    private readonly auditProcess: ServiceProcess | undefined,
    /** The plans process serving this mode's reads; undefined when it is this process. */
    private readonly served: ServiceProcess | undefined,
  ) {}

  async measure(run: () => Promise<RateSlice>): Promise<void> {
    const before = await redisCounters(this.redis);
    const audit = this.auditProcess?.cpuSeconds();
    const served = this.served?.cpuSeconds();
    await this.served?.pauses?.resume();
    const cpu = process.cpuUsage();
    if (!this.served) this.#pauses.resume();
    const slice = await run();
    if (!this.served) this.#pauses.pause();
    const used = process.cpuUsage(cpu);
    await this.served?.pauses?.pause();
    this.#cpuMicros += used.user + used.system;
    const auditAfter = this.auditProcess?.cpuSeconds();
    this.#auditCpuSeconds = audit === undefined || auditAfter === undefined || this.#auditCpuSeconds === undefined ? undefined : this.#auditCpuSeconds + auditAfter - audit;
    const servedAfter = this.served?.cpuSeconds();
    this.#servedCpuSeconds = served === undefined || servedAfter === undefined || this.#servedCpuSeconds === undefined ? undefined : this.#servedCpuSeconds + servedAfter - served;
    const after = await redisCounters(this.redis);
    this.#redisCalls += after.calls - before.calls;
    this.#redisReads += after.reads - before.reads;
    this.#samples.push(...slice.samples);
    this.#errors += slice.errors;
    this.#seconds += slice.seconds;
  }

  async finish() {
    const reads = Math.max(1, this.#samples.length);
    const own = this.#pauses.finish();
    const pauses = this.served?.pauses ? await this.served.pauses.finish() : own;
    const ownCpuMsPerRead = round(this.#cpuMicros / 1000 / reads);
    return {
      latency: summarise(this.#samples),
      achievedRate: this.#samples.length / Math.max(1e-9, this.#seconds),
      // The serving process's CPU (/proc, 1/100 s ticks: fine over thousands of reads); this process's when it serves.
      cpuMsPerRead: this.served ? round(((this.#servedCpuSeconds ?? Number.NaN) * 1000) / reads) : ownCpuMsPerRead,
      clientCpuMsPerRead: this.served ? ownCpuMsPerRead : undefined,
      auditCpuMsPerRead: this.auditProcess && this.#auditCpuSeconds !== undefined ? round((this.#auditCpuSeconds * 1000) / reads) : undefined,
      redisCallsPerRead: round(this.#redisCalls / reads),
      redisRoundTripsPerRead: round(this.#redisReads / reads),
      errors: this.#errors,
      allocatedKbPerRead: round((pauses.allocatedMb * 1000) / reads),
      pauses,
    };
  }
}

/**
 * Commands Redis has run so far (INFO commandstats, every command summed) and the reads it has made
 * from its clients (INFO stats `total_reads_processed`: a pipeline of commands written at once is one read — the round trips).
 */
async function redisCounters(redis: RunningHub['deps']['redis']): Promise<{ calls: number; reads: number }> {
  const [commands, stats] = await Promise.all([redis.info('commandstats'), redis.info('stats')]);
  const calls = [...commands.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { calls, reads: Number(/total_reads_processed:(\d+)/.exec(stats)?.[1] ?? 0) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:plans failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
