import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPERATOR_KEY, TestApi } from '../test/support/api';
import { startTestServer, stopTestServer } from '../test/support/database';
import { TRUNK_PASSWORD } from '../test/support/sip-harness';
import { freeUdpPort } from '../test/support/sip-peer';
import { Sipp, sippVersion, type SippResult } from '../test/sipp/sipp';
import { fmt, KINDS, report, type Kind, type Measured, type StepResult } from './sip-load-report';
import { cpuSeconds, machineJiffies, memoryKb, postgresCpuSeconds, SipProcess, sleep } from './sip-process';

/**
 * SIP load: sipp carrier -> the SIP role (`node dist/app/main.js --role sip`, a child process so
 * its CPU and RSS are its own) -> sipp PBX / failover target, all on 127.0.0.1. For 1 and 2 SIP
 * workers and three call kinds (delivered to a registered PBX; failed over because the PBX
 * answers 503; failed over because the trunk is not registered) it finds the highest call rate
 * with under 0.1 % failed calls (ramp, then bisect; 10 s a step, each against a fresh, warmed-up
 * SIP process), and measures CPU time per call at a fixed 1,000 calls/s. Writes
 * bench/results/sip-load.md and prints it; about 14 minutes on 2 cores (a budget caps the search).
 *
 * `npm run bench:sip`, or `node dist/bench/sip-load.js` with `--quick` (short steps, low rates, nothing
 * written), `--workers 1,2`, `--kinds deliver,pbx503,unregistered`, `--fixed-only` (only the 1,000/s
 * step), `--cpu-prof <dir>` (profile the SIP process: one .cpuprofile per thread), `--trace-gc`
 * (count the SIP process's GC pauses per step), `--no-write`.
 * Database: DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary directory.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'sip-load.md');

const DIDS: Record<Kind, string> = { deliver: '+442079464001', pbx503: '+442079464002', unregistered: '+442079464003' };

interface Settings {
  readonly stepS: number;
  readonly ramp: readonly number[];
  readonly resolution: number;
  readonly maxRate: number;
  readonly fixedRate: number;
  readonly workers: readonly number[];
  readonly kinds: readonly Kind[];
  readonly write: boolean;
  /** Only the fixed-rate step (for profiling), no search for the highest rate. */
  readonly fixedOnly: boolean;
  /** `node --cpu-prof` for the SIP process (every thread writes a .cpuprofile here when it exits). */
  readonly cpuProfDir: string | null;
  /** `node --trace-gc` for the SIP process: GC pauses are counted per step. */
  readonly traceGc: boolean;
}

function settings(argv: readonly string[]): Settings {
  const quick = argv.includes('--quick');
  const list = (flag: string): string[] | null => {
    const at = argv.indexOf(flag);
    return at === -1 ? null : (argv[at + 1] ?? '').split(',').filter((entry) => entry !== '');
  };
  const kinds = (list('--kinds') ?? [...KINDS]) as Kind[];
  const cpuProf = list('--cpu-prof');
  const fixedOnly = argv.includes('--fixed-only');
  for (const kind of kinds) if (!KINDS.includes(kind)) throw new Error(`unknown kind ${kind}: ${KINDS.join(', ')}`);
  const workers = (list('--workers') ?? ['1', '2']).map(Number);
  if (workers.some((count) => !Number.isInteger(count) || count < 1)) throw new Error('--workers takes worker counts: 1,2');
  return {
    stepS: quick ? 4 : 10,
    ramp: quick ? [500, 1000, 2000] : [500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000],
    resolution: quick ? 500 : 125,
    maxRate: 8000,
    fixedRate: 1000,
    workers,
    kinds,
    write: !quick && !fixedOnly && cpuProf === null && !argv.includes('--trace-gc') && !argv.includes('--no-write'),
    fixedOnly,
    cpuProfDir: cpuProf === null ? null : path.resolve(cpuProf[0] ?? 'sip-cpu-profiles'),
    traceGc: argv.includes('--trace-gc'),
  };
}

/** Under this share of failed (or never completed) calls a step passes. */
const MAX_FAILED_RATIO = 0.001;
/** A step also fails when sipp could not keep the asked rate (it throttles at -l open calls). */
const MIN_ACHIEVED_RATIO = 0.95;
const SIPP_BUFFER_BYTES = 8 * 1024 * 1024;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---------------------------------------------------------------- one step: a rate for STEP_S seconds
interface Bench {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly pbxPort: number;
  readonly pbx503Port: number;
  readonly mobilePort: number;
  readonly settings: Settings;
  /** Past this, the search stops bisecting: the whole bench stays within its time budget. */
  readonly deadline: number;
  sippRun: number;
}

/** `npm run bench` must end within about 15 minutes on 2 cores. */
const BUDGET_MS = 14 * 60_000;

/** Each measured step gets a fresh SIP process warmed up at this rate, so no step inherits the last one's heap or backlog. */
const WARM_RATE = 200;
const WARM_S = 2;

/** The answering peers of a step; no -m: they are stopped once the carrier is done. */
function uasFor(bench: Bench, kind: Kind, timeoutS: number): Sipp[] {
  const uas = (scenario: string, name: string, localPort: number) =>
    new Sipp({ scenario, name: `${name}-${++bench.sippRun}`, dir: bench.dir, localPort, timeoutS, timeoutError: false, extraArgs: ['-buff_size', String(SIPP_BUFFER_BYTES)] });
  const mobile = () => uas('uas-answer-180-200-expect-ack-bye.xml', 'mobile', bench.mobilePort);
  switch (kind) {
    case 'deliver':
      return [uas('uas-answer-180-200-expect-ack-bye.xml', 'pbx', bench.pbxPort)];
    case 'pbx503':
      return [uas('pbx-answer-503-expect-ack.xml', 'pbx503', bench.pbx503Port), mobile()];
    case 'unregistered':
      return [mobile()];
    default: {
      const unknown: never = kind;
      throw new Error(`unknown kind ${String(unknown)}`);
    }
  }
}

/** A fresh SIP process with `workers` workers, warmed up, then `rate` calls/s of `kind` for the step length. */
async function measure(bench: Bench, workers: number, kind: Kind, rate: number): Promise<StepResult> {
  const sip = await SipProcess.start(bench.databaseUrl, workers, bench.dir, bench.settings);
  await sip.drainLog();
  try {
    const warm = await load(bench, sip, workers, kind, WARM_RATE, WARM_S, false);
    if (!warm.pass) throw new Error(`warm-up of ${kind} with ${workers} worker(s) at ${WARM_RATE}/s failed: the set-up is broken, not the load`);
    await sip.drainLog();
    return await load(bench, sip, workers, kind, rate, bench.settings.stepS, true);
  } finally {
    await sip.stop();
  }
}

async function load(bench: Bench, sip: SipProcess, workers: number, kind: Kind, rate: number, seconds: number, print: boolean): Promise<StepResult> {
  const calls = rate * seconds;
  const timeoutS = seconds + 15;
  const peers = uasFor(bench, kind, timeoutS);
  await sleep(300);
  const [cpu0, pg0, machine0] = [await cpuSeconds(sip.pid), await postgresCpuSeconds(), await machineJiffies()];
  const carrier = new Sipp({
    scenario: 'carrier-invite-expect-200-ack-bye.xml',
    name: `carrier-${++bench.sippRun}`,
    dir: bench.dir,
    localPort: await freeUdpPort(),
    remote: `127.0.0.1:${sip.port}`,
    service: DIDS[kind],
    calls,
    rate,
    holdMs: 0,
    timeoutS,
    timeoutError: false,
    traceRtt: true,
    extraArgs: ['-buff_size', String(SIPP_BUFFER_BYTES), '-recv_timeout', '5000', '-max_recv_loops', '5000', '-max_sched_loops', '5000'],
  });
  const result: SippResult = await carrier.result;
  // Batched call records and the last BYEs: give them a moment, then read the CPU.
  await sleep(1000);
  const [cpu1, pg1, machine1] = [await cpuSeconds(sip.pid), await postgresCpuSeconds(), await machineJiffies()];
  const memory = await memoryKb(sip.pid);
  await Promise.all(peers.map((peer) => peer.stop()));
  const log = await sip.drainLog();
  const times = [...result.responseTimesMs].sort((a, b) => a - b);
  const successful = Number.isFinite(result.successful) ? result.successful : 0;
  const failedRatio = (calls - successful) / calls;
  // sipp ends a few ms after the last call starts (its clock counts whole seconds); much longer means it had to throttle.
  const achievedRate = calls / Math.max(seconds, result.elapsedSeconds - 1);
  const sipCpuS = cpu1 - cpu0;
  const step: StepResult = {
    kind,
    workers,
    rate,
    calls,
    successful,
    failedRatio,
    achievedRate,
    retransmissions: result.retransmissions,
    pass: failedRatio < MAX_FAILED_RATIO && achievedRate >= MIN_ACHIEVED_RATIO * rate,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    p99Ms: percentile(times, 99),
    maxMs: times.length > 0 ? times[times.length - 1] : NaN,
    sipCpuS,
    cpuPerCallUs: (sipCpuS / calls) * 1e6,
    postgresCpuPerCallUs: ((pg1 - pg0) / calls) * 1e6,
    machineBusy: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
    rssMb: memory.rssKb / 1024,
    hwmMb: memory.hwmKb / 1024,
    gc: log.gc,
    problems: log.problems.slice(0, 5),
  };
  if (!print) return step;
  const gc = step.gc === null ? '' : `, GC: ${step.gc.count} pauses, ${fmt(step.gc.totalMs, 0)} ms in all, longest ${fmt(step.gc.maxMs)} ms (${step.gc.maxKind})`;
  process.stdout.write(
    `  ${workers}w ${kind.padEnd(12)} ${String(rate).padStart(5)}/s: ${step.pass ? 'pass' : 'FAIL'} ` +
      `${successful}/${calls} ok (${(failedRatio * 100).toFixed(3)} % failed), ${step.achievedRate.toFixed(0)}/s achieved, ` +
      `${result.retransmissions} retrans, setup p50 ${fmt(step.p50Ms)} p99 ${fmt(step.p99Ms)} ms, ` +
      `SIP CPU ${step.cpuPerCallUs.toFixed(0)} us/call, machine ${(step.machineBusy * 100).toFixed(0)} % busy, peak RSS ${step.hwmMb.toFixed(0)} MB${gc}` +
      `${log.problems.length > 0 ? `, ${log.problems.length} warn+ log lines` : ''}\n`,
  );
  const event = result.errors.split('\n').find((line) => line.trim() !== '' && !line.startsWith('The following events'));
  if (!step.pass && event !== undefined) process.stdout.write(`    sipp: ${event.slice(0, 300)}\n`);
  for (const problem of step.problems.slice(0, 2)) process.stdout.write(`    log: ${problem}\n`);
  return step;
}
/** Ramp until a step fails, then bisect between the last pass and the first failure. */
async function findMaxRate(bench: Bench, workers: number, kind: Kind): Promise<{ best: StepResult | null; steps: StepResult[]; cutShort: boolean }> {
  const { ramp, resolution, maxRate } = bench.settings;
  const steps: StepResult[] = [];
  let best: StepResult | null = null;
  let failedAt: number | null = null;
  for (const rate of ramp) {
    if (Date.now() > bench.deadline && best !== null) return { best, steps, cutShort: true };
    const result = await measure(bench, workers, kind, rate);
    steps.push(result);
    if (!result.pass) {
      failedAt = rate;
      break;
    }
    best = result;
  }
  if (failedAt === null) return { best, steps, cutShort: false };
  let low = best?.rate ?? 0;
  let high = Math.min(failedAt, maxRate);
  while (high - low > resolution) {
    if (Date.now() > bench.deadline) return { best, steps, cutShort: true };
    const rate = Math.round((low + high) / 2 / 25) * 25;
    const result = await measure(bench, workers, kind, rate);
    steps.push(result);
    if (result.pass) {
      low = rate;
      best = result;
    } else {
      high = rate;
    }
  }
  return { best, steps, cutShort: false };
}

// ---------------------------------------------------------------- set-up: database, trunks, registrations

async function configure(api: TestApi, mobilePort: number): Promise<void> {
  await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Bench carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
  for (const kind of KINDS) {
    const company = await api.company(`Bench ${kind}`);
    const plan = await api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
      input: {
        companyId: company.id,
        name: 'Failover',
        internalNumber: '900',
        flow: {
          entryStepId: 'mobile',
          steps: [
            { id: 'mobile', app: 'FORWARD', forward: { target: `sip:mobile@127.0.0.1:${mobilePort}`, ringTimeoutSeconds: 10 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
            { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
          ],
        },
      },
    });
    await api.ok(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: {
        companyId: company.id,
        name: `bench-${kind}`,
        sipUsername: `bench-${kind}`,
        sipPassword: TRUNK_PASSWORD,
        inboundNumbers: [DIDS[kind]],
        maxConcurrentCalls: 10_000,
        failover: { enabled: true, dialPlanId: plan.createDialPlan.id },
      },
    });
  }
}

/** The PBX of `kind` registers from `port` with sipp (MD5 digest); its UAS later answers on that port. */
async function register(bench: Bench, sip: SipProcess, kind: Kind, port: number): Promise<void> {
  const result = await new Sipp({
    scenario: 'pbx-register-md5-expect-401-then-200.xml',
    name: `register-${kind}-${++bench.sippRun}`,
    dir: bench.dir,
    localPort: port,
    remote: `127.0.0.1:${sip.port}`,
    service: `bench-${kind}`,
    auth: { username: `bench-${kind}`, password: TRUNK_PASSWORD },
    calls: 1,
    timeoutS: 10,
  }).result;
  if (result.exitCode !== 0 || result.successful !== 1) throw new Error(`registration of bench-${kind} failed:\n${result.describe()}`);
}

/** The commit measured, and whether the tree differed from it. */
function gitDescription(): string {
  // Not trimmed: a porcelain line starts with its two status columns, the first may be a space.
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
  const commit = git('rev-parse', '--short', 'HEAD').trim();
  if (commit === '') return 'not a git checkout';
  const changed = git('status', '--porcelain', '--untracked-files=no')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(3));
  if (changed.length === 0) return commit;
  return `${commit}, with uncommitted changes to ${changed.length > 6 ? `${changed.length} files` : changed.join(', ')}`;
}

function trySysctl(): { message: string; restore: () => void } {
  const read = (name: string) => spawnSync('sysctl', ['-n', name], { encoding: 'utf8' }).stdout.trim();
  const before = { rmem: read('net.core.rmem_max'), wmem: read('net.core.wmem_max') };
  const set = spawnSync('sysctl', ['-w', `net.core.rmem_max=${SIPP_BUFFER_BYTES}`, `net.core.wmem_max=${SIPP_BUFFER_BYTES}`], { encoding: 'utf8' });
  const after = { rmem: read('net.core.rmem_max'), wmem: read('net.core.wmem_max') };
  const raised = after.rmem === String(SIPP_BUFFER_BYTES) && after.wmem === String(SIPP_BUFFER_BYTES);
  return {
    message: raised
      ? `net.core.rmem_max/wmem_max raised from ${before.rmem}/${before.wmem} to ${SIPP_BUFFER_BYTES} for the run (restored after)`
      : `could not raise net.core.rmem_max/wmem_max (${(set.stderr || set.error?.message || '').trim().split('\n')[0]}); they stay ${after.rmem}/${after.wmem}`,
    restore: () => {
      if (raised) spawnSync('sysctl', ['-w', `net.core.rmem_max=${before.rmem}`, `net.core.wmem_max=${before.wmem}`]);
    },
  };
}
// ---------------------------------------------------------------- main

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const config = settings(argv);
  const began = Date.now();
  const facts = [
    `machine: ${os.cpus().length} CPUs (\`nproc\` ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()}), ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}`,
    `Node ${process.version}, sipp ${sippVersion()} (one process per peer, UDP, one socket each, \`-buff_size ${SIPP_BUFFER_BYTES}\`)`,
    'everything on 127.0.0.1 and on the same cores: the SIP role (edge + workers), three sipp processes, PostgreSQL, this driver',
    'SIP role: `node dist/app/main.js --role sip`, LOG_LEVEL=info (one decision line per call, to a file), call records written to PostgreSQL',
    `code: ${gitDescription()}`,
  ];
  const sysctl = trySysctl();
  facts.push(sysctl.message);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-sip-load-'));
  await mkdir(dir, { recursive: true });
  process.stdout.write(`SIP load bench: ${config.kinds.join(', ')} with ${config.workers.join(' and ')} worker(s), ${config.stepS} s steps (work dir ${dir})\n${sysctl.message}\n`);
  await startTestServer();
  let api: TestApi | null = null;
  const measured: Measured[] = [];
  try {
    api = await TestApi.start();
    facts.push(`database: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL (fsync off, as in the tests)'}`);
    const mobilePort = await freeUdpPort();
    await configure(api, mobilePort);
    const [pbxPort, pbx503Port] = [await freeUdpPort(), await freeUdpPort()];
    const bench: Bench = { dir, databaseUrl: api.database.url, pbxPort, pbx503Port, mobilePort, settings: config, deadline: began + BUDGET_MS, sippRun: 0 };
    // The PBXs register once: bindings are rows, so every SIP process started later routes to them.
    const registrar = await SipProcess.start(bench.databaseUrl, 1, dir, { cpuProfDir: null, traceGc: false });
    try {
      await register(bench, registrar, 'deliver', pbxPort);
      await register(bench, registrar, 'pbx503', pbx503Port);
    } finally {
      await registrar.stop();
    }
    for (const workers of config.workers) {
      for (const kind of config.kinds) {
        const { best, steps, cutShort } = config.fixedOnly ? { best: null, steps: [], cutShort: false } : await findMaxRate(bench, workers, kind);
        const fixed = steps.find((s) => s.rate === config.fixedRate) ?? (await measure(bench, workers, kind, config.fixedRate));
        if (!steps.includes(fixed)) steps.push(fixed);
        measured.push({ workers, kind, best, fixed, steps, cutShort });
      }
    }
  } finally {
    await api?.stop();
    await stopTestServer();
    sysctl.restore();
  }
  const command = argv.length > 0 ? `node dist/bench/sip-load.js ${argv.join(' ')}` : 'npm run bench:sip';
  const markdown = report(measured, { facts, command, totalS: (Date.now() - began) / 1000, stepS: config.stepS, warmRate: WARM_RATE, warmS: WARM_S });
  process.stdout.write(`\n${markdown}`);
  if (config.write) await writeFile(RESULTS, markdown);
  await rm(dir, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
