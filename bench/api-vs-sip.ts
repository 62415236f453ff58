import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forwardFlow, OPERATOR_KEY, TestApi, TEST_REALM, TRUNK_FIELDS } from '../test/support/api';
import { NESTED_ALIASES_QUERY, REPEATED_FIELDS_QUERY } from '../test/support/costly-queries';
import { startTestServer, stopTestServer } from '../test/support/database';
import { TRUNK_PASSWORD } from '../test/support/sip-harness';
import { freeUdpPort, waitUntil } from '../test/support/sip-peer';
import { Sipp, sippVersion } from '../test/sipp/sipp';
import { cpuSeconds, sleep } from './sip-process';

/**
 * The API must not delay SIP: `node dist/app/main.js --role all` (the API in its own thread, the
 * SIP edge on the main thread) on the bench database, sipp as carrier at 50 calls/s to a DID whose
 * PBX (sipp) answers, for `--seconds` (30) twice: once alone, once while this driver hammers the
 * API with legitimate heavy queries (every field of 100 trunks, three clients back to back) and
 * the costly queries of issue 6 (one client back to back, each refused). Reports SIP setup times
 * (sipp's response time 1, INVITE to 200, whole ms) for both runs, the heavy query's latency and
 * the refusal times; writes bench/results/api-vs-sip.md.
 *
 * `npm run build && node dist/bench/api-vs-sip.js [--seconds 30] [--rate 50] [--no-write]`.
 * Database: DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary directory.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'api-vs-sip.md');
const DID = '+442079465001';
const SIPP_BUFFER_BYTES = 8 * 1024 * 1024;
const HEAVY_CLIENTS = 3;
const HEAVY_QUERY = `{ trunks(first: 100) { edges { cursor node { ${TRUNK_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

interface Settings {
  readonly seconds: number;
  readonly rate: number;
  readonly write: boolean;
}

function settings(argv: readonly string[]): Settings {
  const number = (flag: string, fallback: number): number => {
    const at = argv.indexOf(flag);
    const value = at === -1 ? fallback : Number(argv[at + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} takes a positive number`);
    return value;
  };
  return { seconds: number('--seconds', 30), rate: number('--rate', 50), write: !argv.includes('--no-write') };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
  return `${f(percentile(sorted, 50))} / ${f(percentile(sorted, 95))} / ${f(percentile(sorted, 99))} / ${f(sorted[sorted.length - 1] ?? NaN)}`;
}

// ---------------------------------------------------------------- the product in --role all

class AllRoles {
  private output = '';
  private partial = '';
  private readonly warnings: string[] = [];
  private refusals = 0;

  private constructor(readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-200_000);
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('refused as too complex')) this.refusals++;
        else if (/"level":[456]0/.test(line)) this.warnings.push(line);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(databaseUrl: string, sipPort: number): Promise<{ roles: AllRoles; apiUrl: string }> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      API_PORT: '0',
      SIP_HOST: '127.0.0.1',
      SIP_PORT: String(sipPort),
      SIP_REALM: TEST_REALM,
      OPERATOR_API_KEY: OPERATOR_KEY,
      LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'app', 'main.js'), '--role', 'all'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const roles = new AllRoles(child);
    await waitUntil(() => child.exitCode !== null || roles.output.includes('"msg":"SIP edge listening"'), 60_000, 'both roles to start');
    if (child.exitCode !== null) throw new Error(`--role all exited with ${child.exitCode}:\n${roles.output.slice(-3000)}`);
    const apiUrl = /"url":"(http:[^"]+)"/.exec(roles.output)?.[1];
    if (apiUrl === undefined) throw new Error(`no API URL in the log:\n${roles.output.slice(-3000)}`);
    return { roles, apiUrl };
  }

  /** Lines at warn or worse since start, apart from the refusals the hammer asks for. */
  problems(): readonly string[] {
    return this.warnings;
  }

  refusalsLogged(): number {
    return this.refusals;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

// ---------------------------------------------------------------- the API hammer

interface HammerResult {
  heavyMs: number[];
  heavyFailed: number;
  refusals: Record<'repeated' | 'nested', number[]>;
  notRefused: number;
}

/** One GraphQL request and the time to its whole answer. */
async function timedPost(apiUrl: string, query: string, variables: Record<string, unknown> = {}): Promise<{ ms: number; text: string }> {
  const began = process.hrtime.bigint();
  const response = await fetch(apiUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { ms: Number(process.hrtime.bigint() - began) / 1e6, text };
}

/** Each costly query `times` times, one at a time, on an otherwise idle API: the refusal time alone. */
async function quietRefusals(apiUrl: string, bombedCompanyId: string, times: number): Promise<Record<'repeated' | 'nested', number[]>> {
  const refusals: Record<'repeated' | 'nested', number[]> = { repeated: [], nested: [] };
  for (let round = 0; round < times; round++) {
    for (const kind of ['repeated', 'nested'] as const) {
      const { ms, text } = kind === 'repeated' ? await timedPost(apiUrl, REPEATED_FIELDS_QUERY) : await timedPost(apiUrl, NESTED_ALIASES_QUERY, { companyId: bombedCompanyId });
      if (!text.includes('QUERY_TOO_COMPLEX')) throw new Error(`a costly query was not refused: ${text.slice(0, 300)}`);
      refusals[kind].push(ms);
    }
  }
  return refusals;
}

/** Runs until `stop` resolves: HEAVY_CLIENTS clients of the heavy query, one of the costly queries. */
async function hammer(apiUrl: string, bombedCompanyId: string, stop: Promise<void>): Promise<HammerResult> {
  let running = true;
  void stop.then(() => (running = false));
  const result: HammerResult = { heavyMs: [], heavyFailed: 0, refusals: { repeated: [], nested: [] }, notRefused: 0 };
  const post = (query: string, variables: Record<string, unknown> = {}) => timedPost(apiUrl, query, variables);
  const heavy = async () => {
    while (running) {
      const { ms, text } = await post(HEAVY_QUERY);
      if (text.includes('"errors"')) result.heavyFailed++;
      else result.heavyMs.push(ms);
    }
  };
  const costly = async () => {
    for (let round = 0; running; round++) {
      const kind = round % 2 === 0 ? 'repeated' : 'nested';
      const { ms, text } = kind === 'repeated' ? await post(REPEATED_FIELDS_QUERY) : await post(NESTED_ALIASES_QUERY, { companyId: bombedCompanyId });
      if (text.includes('QUERY_TOO_COMPLEX')) result.refusals[kind].push(ms);
      else result.notRefused++;
    }
  };
  await Promise.all([...Array.from({ length: HEAVY_CLIENTS }, heavy), costly()]);
  return result;
}

// ---------------------------------------------------------------- set-up and runs

async function configure(api: TestApi, mobilePort: number): Promise<string> {
  await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Bench carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
  const company = await api.company('Bench');
  const plan = await api.ok<{ createDialPlan: { id: string } }>(OPERATOR_KEY, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
    input: { companyId: company.id, name: 'Failover', internalNumber: '900', flow: forwardFlow(`sip:mobile@127.0.0.1:${mobilePort}`) },
  });
  const trunk = (name: string, username: string, number: string) =>
    api.ok(OPERATOR_KEY, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: company.id, name, sipUsername: username, sipPassword: TRUNK_PASSWORD, inboundNumbers: [number], maxConcurrentCalls: 10_000, failover: { enabled: true, dialPlanId: plan.createDialPlan.id } },
    });
  await trunk('bench-deliver', 'bench-deliver', DID);
  // What the heavy query reads: 100 trunks, each failing over to the plan.
  for (let first = 1; first < 100; first += 10) {
    await Promise.all(Array.from({ length: Math.min(10, 100 - first) }, (_, index) => trunk(`PBX ${first + index}`, `bench-${first + index}`, `+44207946${6000 + first + index}`)));
  }
  return company.id;
}

interface SipRun {
  calls: number;
  successful: number;
  failed: number;
  retransmissions: number;
  setupMs: number[];
  cpuS: number;
}

async function calls(dir: string, sipPort: number, pbxPort: number, pid: number, run: string, s: Settings): Promise<SipRun> {
  const timeoutS = s.seconds + 20;
  const pbx = new Sipp({ scenario: 'uas-answer-180-200-expect-ack-bye.xml', name: `pbx-${run}`, dir, localPort: pbxPort, timeoutS, timeoutError: false, extraArgs: ['-buff_size', String(SIPP_BUFFER_BYTES)] });
  await sleep(300);
  const cpu0 = await cpuSeconds(pid);
  const count = Math.round(s.rate * s.seconds);
  const result = await new Sipp({
    scenario: 'carrier-invite-expect-200-ack-bye.xml',
    name: `carrier-${run}`,
    dir,
    localPort: await freeUdpPort(),
    remote: `127.0.0.1:${sipPort}`,
    service: DID,
    calls: count,
    rate: s.rate,
    holdMs: 0,
    timeoutS,
    timeoutError: false,
    traceRtt: true,
    extraArgs: ['-buff_size', String(SIPP_BUFFER_BYTES)],
  }).result;
  const cpu1 = await cpuSeconds(pid);
  await pbx.stop();
  const successful = Number.isFinite(result.successful) ? result.successful : 0;
  return { calls: count, successful, failed: count - successful, retransmissions: result.retransmissions, setupMs: [...result.responseTimesMs], cpuS: cpu1 - cpu0 };
}

function gitDescription(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
  const commit = git('rev-parse', '--short', 'HEAD').trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
  return commit === '' ? 'not a git checkout' : `${commit}${dirty ? ' with uncommitted changes' : ''}`;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const s = settings(argv);
  const began = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-api-vs-sip-'));
  process.stdout.write(`API vs SIP: ${s.rate} calls/s for ${s.seconds} s, alone and with the API hammered (work dir ${dir})\n`);
  await startTestServer();
  let api: TestApi | null = null;
  let roles: AllRoles | null = null;
  try {
    api = await TestApi.start();
    const [mobilePort, pbxPort, sipPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const bombed = await configure(api, mobilePort);
    const started = await AllRoles.start(api.database.url, sipPort);
    roles = started.roles;
    const registered = await new Sipp({
      scenario: 'pbx-register-md5-expect-401-then-200.xml',
      name: 'register',
      dir,
      localPort: pbxPort,
      remote: `127.0.0.1:${sipPort}`,
      service: 'bench-deliver',
      auth: { username: 'bench-deliver', password: TRUNK_PASSWORD },
      calls: 1,
      timeoutS: 10,
    }).result;
    if (registered.successful !== 1) throw new Error(`the PBX did not register:\n${registered.describe()}`);
    const pid = roles.child.pid as number;

    // Warm-up: JIT and pools of both roles, so neither measured run pays for the first calls.
    await calls(dir, sipPort, pbxPort, pid, 'warm', { ...s, seconds: 3 });
    const alone = await calls(dir, sipPort, pbxPort, pid, 'alone', s);
    process.stdout.write(`  alone: ${alone.successful}/${alone.calls} calls, setup p50/p95/p99/max ${summary(alone.setupMs)} ms\n`);

    const quiet = await quietRefusals(started.apiUrl, bombed, 50);
    process.stdout.write(`  refused on an idle API: repeated ms ${summary(quiet.repeated)}, nested ms ${summary(quiet.nested)}\n`);

    let stopHammer = (): void => undefined;
    const hammerStopped = new Promise<void>((resolve) => (stopHammer = resolve));
    const hammering = hammer(started.apiUrl, bombed, hammerStopped);
    await sleep(1000);
    const hammered = await calls(dir, sipPort, pbxPort, pid, 'hammered', s);
    stopHammer();
    const load = await hammering;
    process.stdout.write(`  hammered: ${hammered.successful}/${hammered.calls} calls, setup p50/p95/p99/max ${summary(hammered.setupMs)} ms\n`);
    process.stdout.write(`  heavy query: ${load.heavyMs.length} answered (${load.heavyFailed} with errors), ms ${summary(load.heavyMs)}\n`);
    process.stdout.write(`  refused: repeated ${load.refusals.repeated.length} (ms ${summary(load.refusals.repeated)}), nested ${load.refusals.nested.length} (ms ${summary(load.refusals.nested)}), not refused ${load.notRefused}\n`);

    const totalS = (Date.now() - began) / 1000;
    const row = (name: string, run: SipRun) =>
      `| ${name} | ${run.successful} / ${run.calls} | ${run.retransmissions} | ${summary(run.setupMs)} | ${run.cpuS.toFixed(1)} |`;
    const problems = roles.problems();
    const markdown = [
      '# SIP setup while the API is hammered (`--role all`)',
      '',
      `\`npm run build && node dist/bench/api-vs-sip.js${argv.length > 0 ? ` ${argv.join(' ')}` : ''}\` (bench/api-vs-sip.ts), ${new Date().toISOString().slice(0, 10)}, ${(totalS / 60).toFixed(1)} min.`,
      '',
      `- machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Linux ${os.release()}; Node ${process.version}, sipp ${sippVersion()}`,
      `- code: ${gitDescription()}; database: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL (fsync off, as in the tests)'}`,
      '- the product: `node dist/app/main.js --role all`, default SIP workers (one per CPU), LOG_LEVEL=info; the API in its own worker thread, the SIP edge on the main thread',
      `- SIP: sipp carrier at ${s.rate} calls/s for ${s.seconds} s to a registered PBX (sipp, answers 180 then 200), BYE right after the ACK; setup = sipp's response time 1, INVITE sent to 200 received, whole ms`,
      `- API hammer (this driver, while the second run lasts): ${HEAVY_CLIENTS} clients back to back with every field of 100 trunks (\`trunks(first: 100)\`, 29 fields), one client back to back with the costly queries of issue 6 in turn (24 KB of 8,000 repeated fields; 1.3 KB of aliases nested through fragments)`,
      '- everything on 127.0.0.1 and the same cores: the product (edge, SIP workers, API thread), two sipp, PostgreSQL, this driver',
      '',
      '| run | calls ok | retransmissions | setup ms p50 / p95 / p99 / max | product CPU s |',
      '|---|---|---|---|---|',
      row('alone', alone),
      row('API hammered', hammered),
      '',
      'API requests, time to the whole answer at the client (HTTP on loopback included):',
      '',
      '| API request | count | ms p50 / p95 / p99 / max |',
      '|---|---|---|',
      `| 8,000 repeated fields, refused QUERY_TOO_COMPLEX, one at a time on an idle API | ${quiet.repeated.length} | ${summary(quiet.repeated)} |`,
      `| aliases nested through fragments, refused QUERY_TOO_COMPLEX, one at a time on an idle API | ${quiet.nested.length} | ${summary(quiet.nested)} |`,
      `| every field of 100 trunks, answered, during the hammered run | ${load.heavyMs.length} | ${summary(load.heavyMs)} |`,
      `| 8,000 repeated fields, refused, during the hammered run | ${load.refusals.repeated.length} | ${summary(load.refusals.repeated)} |`,
      `| aliases nested through fragments, refused, during the hammered run | ${load.refusals.nested.length} | ${summary(load.refusals.nested)} |`,
      '',
      `Heavy queries answered with errors: ${load.heavyFailed}; costly queries not refused: ${load.notRefused}; refusals logged by the product: ${roles.refusalsLogged()}.`,
      `Warn-or-worse log lines of the product (besides the refusals): ${problems.length}${problems.length > 0 ? `, first: \`${problems[0].slice(0, 300)}\`` : ''}.`,
      '',
      'Before issue 6 (from the issue, same machine class): the 24 KB query held the main thread, shared with the SIP edge, for 13 s, and every call placed meanwhile waited 7-13 s; the nested aliases answered 29 MB in 9 s.',
      '',
    ].join('\n');
    process.stdout.write(`\n${markdown}`);
    if (s.write) await writeFile(RESULTS, markdown);
  } finally {
    await roles?.stop();
    await api?.stop();
    await stopTestServer();
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
