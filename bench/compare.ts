import 'reflect-metadata';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, startTestServer, stopTestServer } from '../test/support/database';
import { ComparedProduct, SIP_WORKERS, TRUNK_USER } from './compare-product';
import { compareMarkdown, PATHS, type AnchorResult, type Proxy, type Run, type Scenario } from './compare-report';
import { sleep } from './sip-process';
import { summarise, summaryMarkdown } from './profile-summary';
import { ceilingMarkdown, ceilingOf, type Ceiling } from './compare-ceiling';

/**
 * The product against Kamailio under the same SIPp load (issue 9): the anchor harness
 * (`../shared/bench/anchor-kamailio/run.sh` from the project root, or `--harness DIR`) runs each
 * path (`normal`, `fail503`, `unreg`) against Kamailio (started by run.sh) and against the product
 * (started here on udp 127.0.0.1:5070 for each run, configured once over GraphQL), interleaved per
 * repetition;
 * writes bench/results/compare.md.
 *
 * `npm run bench:compare` (`--rate CPS` default 1000, `--duration S` default 15, `--reps N` default
 * 3, `--harness DIR`, `--no-write` to only print, `--paths normal,unreg` and `--proxies product` to run
 * a subset, `--product-node-options "--cpu-prof --cpu-prof-dir DIR"` to profile the product, `--profile` for
 * one more product run per path under the profiler, summarised in the report, `--workers N` SIP workers,
 * default 2, `--ceiling` for the delivered-call ceiling by the harness's sweep.sh too, with `--ceiling-reps N`
 * default 1 and `--ceiling-start CPS` default 1000, `--reps 0` for the ceiling alone). Installs kamailio and tcpdump with apt-get when
 * kamailio is missing. Database: DATABASE_URL's server when set, else an embedded PostgreSQL.
 * About 25 to 90 s per run (a run that collapses waits out SIPp's timeouts), 18 runs by default.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'compare.md');
const DEFAULT_HARNESS = path.resolve(ROOT, '..', 'shared', 'bench', 'anchor-kamailio');
/** Between runs: lets the machine settle and the ports be released. */
const PAUSE_BETWEEN_RUNS_MS = 2000;

interface Settings {
  rate: number;
  durationS: number;
  reps: number;
  harness: string;
  write: boolean;
  scenarios: readonly Scenario[];
  proxies: readonly Proxy[];
  /** Extra `node` flags for the product (for example `--cpu-prof --cpu-prof-dir DIR`). */
  productNodeOptions: string;
  workers: number;
  /** `--ceiling`: also the delivered-call ceiling by the harness's sweep.sh, `--ceiling-reps` times. */
  ceiling: boolean;
  ceilingReps: number;
  ceilingStart: number;
  /** One more product run per path under --cpu-prof, summarised in the report. */
  profile: boolean;
}

function settings(argv: readonly string[]): Settings {
  const value = (name: string, fallback: string) => {
    const at = argv.indexOf(name);
    return at === -1 ? fallback : (argv[at + 1] ?? '');
  };
  const listOf = <T extends string>(name: string, all: readonly T[]): readonly T[] => {
    const chosen = value(name, all.join(',')).split(',');
    const unknown = chosen.filter((item) => !(all as readonly string[]).includes(item));
    if (unknown.length > 0 || chosen.length === 0) throw new Error(`${name} takes a comma-separated list of ${all.join(', ')}`);
    return chosen as T[];
  };
  const whole = (name: string, fallback: number, least = 1) => {
    const parsed = Number(value(name, String(fallback)));
    if (!Number.isInteger(parsed) || parsed < least) throw new Error(`${name} takes a whole number of at least ${least}`);
    return parsed;
  };
  return {
    rate: whole('--rate', 1000),
    durationS: whole('--duration', 15),
    reps: whole('--reps', 3, 0),
    harness: path.resolve(value('--harness', DEFAULT_HARNESS)),
    write: !argv.includes('--no-write'),
    scenarios: listOf('--paths', PATHS.map((p) => p.scenario)),
    proxies: listOf('--proxies', ['kamailio', 'product'] as const),
    productNodeOptions: value('--product-node-options', ''),
    profile: argv.includes('--profile'),
    workers: whole('--workers', SIP_WORKERS),
    ceiling: argv.includes('--ceiling'),
    ceilingReps: whole('--ceiling-reps', 1),
    ceilingStart: whole('--ceiling-start', 1000),
  };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function command(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function preflight(s: Settings): void {
  if (!existsSync(path.join(s.harness, 'run.sh'))) {
    throw new Error(`the anchor harness is not at ${s.harness} (expected run.sh there: ../shared/bench/anchor-kamailio from the project root, or pass --harness DIR)`);
  }
  if (!command('sipp')) throw new Error('sipp not found (apt-get install sip-tester)');
  if (s.proxies.includes('kamailio') && !command('kamailio')) {
    say('kamailio is missing: apt-get install -y kamailio tcpdump');
    const installed = spawnSync('apt-get', ['install', '-y', 'kamailio', 'tcpdump'], { stdio: 'inherit' });
    if (installed.status !== 0 || !command('kamailio')) throw new Error('apt-get install kamailio failed');
  }
}

function runHarness(s: Settings, args: readonly string[], outdir: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(s.harness, 'run.sh'), [...args, '--rate', String(s.rate), '--calls', String(s.rate * s.durationS), '--outdir', outdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 2, stdout }));
  });
}

interface Setup {
  settings: Settings;
  databaseUrl: string;
  secrets: { operatorKey: string; sipPassword: string };
  dir: string;
  logs: string[];
}

async function resultOf(outdir: string): Promise<AnchorResult | null> {
  try {
    return JSON.parse(await readFile(path.join(outdir, 'result.json'), 'utf8')) as AnchorResult;
  } catch {
    return null; // no result.json: a setup error, its message is in the output
  }
}

/** One run.sh run; the product is started before and stopped after it, so Kamailio's runs find :5070 free. */
async function oneRun(setup: Setup, rep: number, scenario: Scenario, proxy: Proxy, nodeOptions = setup.settings.productNodeOptions): Promise<Run> {
  const outdir = path.join(setup.dir, `r${rep}-${scenario}-${proxy}${nodeOptions.includes('--cpu-prof') ? '-profiled' : ''}`);
  const args = ['--scenario', scenario];
  let product: ComparedProduct | null = null;
  try {
    if (proxy === 'product') {
      const logFile = path.join(setup.dir, `r${rep}-${scenario}-product.log`);
      setup.logs.push(logFile);
      product = await ComparedProduct.start(setup.databaseUrl, logFile, setup.secrets, nodeOptions, setup.settings.workers);
      const aux = await ComparedProduct.backendPids(setup.databaseUrl);
      args.push('--no-proxy', '--proxy-pgid', String(product.pgid), '--register-auth', `${TRUNK_USER}:${setup.secrets.sipPassword}`, '--settle-ms', '1000');
      if (aux.length > 0) args.push('--aux-pids', aux.join(' '));
    }
    const { code, stdout } = await runHarness(setup.settings, args, outdir);
    const alive = product === null || product.child.exitCode === null;
    const line = stdout.trim().split('\n').filter((text) => text.startsWith('scenario=') || text.startsWith('run.sh:')).join(' ').replaceAll(setup.secrets.sipPassword, '***') || `exit ${code}`;
    return { rep, scenario, proxy, result: await resultOf(outdir), exitCode: code, line: alive ? line : `${line} (the product exited)` };
  } finally {
    await product?.stop();
  }
}

function gitDescription(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
  const commit = git('rev-parse', '--short', 'HEAD').trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
  return commit === '' ? 'not a git checkout' : `${commit}${dirty ? ' with uncommitted changes' : ''}`;
}

function versions(): string {
  const first = (cmd: string, args: string[]) => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim();
  const sipp = /SIPp v[^\s,]*/.exec(spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[0] ?? 'sipp';
  return `Software: ${first('kamailio', ['-v'])}; ${sipp}; Node ${process.version}.`;
}

async function problems(logFile: string): Promise<string[]> {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  return log.split('\n').filter((line) => /"level":[456]0/.test(line));
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const s = settings(argv);
  preflight(s);
  const began = Date.now();
  // Read before the first report is written: the report itself would make the tree look changed.
  const code = gitDescription();
  const loadBefore = os.loadavg();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-compare-'));
  say(`compare: ${s.rate} calls/s, ${s.durationS} s, ${s.reps} repetition(s); harness ${s.harness}; runs under ${dir}`);
  await startTestServer();
  const runs: Run[] = [];
  const profiles: { scenario: Scenario; lines: string[] }[] = [];
  const ceilings: Ceiling[] = [];
  const total = s.reps * s.scenarios.length * s.proxies.length;
  try {
    const database = await createTestDatabase();
    const setup: Setup = { settings: s, databaseUrl: database.url, secrets: ComparedProduct.secrets(), dir, logs: [] };
    const first = await ComparedProduct.start(database.url, path.join(dir, 'configure.log'), setup.secrets);
    try {
      await first.configure();
    } finally {
      await first.stop();
    }
    const report = async () =>
      compareMarkdown({
        command: `npm run bench:compare${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
        date: new Date().toISOString().slice(0, 10),
        seconds: (Date.now() - began) / 1000,
        machine: `${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}. Load generator, both proxies and PostgreSQL share these cores.`,
        software: versions(),
        loadBefore,
        loadAfter: os.loadavg(),
        code,
        database: process.env.DATABASE_URL ? "DATABASE_URL's server, a fresh database" : 'embedded PostgreSQL (fsync off, as in the tests)',
        harness: s.harness.replace(path.resolve(ROOT, '..'), '..'),
        rate: s.rate,
        workers: s.workers,
        durationS: s.durationS,
        reps: s.reps,
        note: runs.length < total ? `Incomplete: ${runs.length} of ${total} runs.` : s.reps < 3 ? `${s.reps} repetition(s) only, not 3: the medians are single runs.` : null,
        runs,
        problems: (await Promise.all(setup.logs.map(problems))).flat(),
        profiles,
        ceiling: ceilingMarkdown(ceilings, { reps: s.ceilingReps, start: s.ceilingStart, workers: s.workers }),
      });
    for (let rep = 1; rep <= s.reps; rep++) {
      for (const scenario of s.scenarios) {
        for (const proxy of s.proxies) {
          const run = await oneRun(setup, rep, scenario, proxy);
          runs.push(run);
          say(`rep ${rep} ${scenario} ${proxy}: ${run.line}`);
          // written after every run, so that an interrupted benchmark leaves what it measured
          if (s.write) await writeFile(RESULTS, await report());
          await sleep(PAUSE_BETWEEN_RUNS_MS);
        }
      }
    }
    if (s.profile && s.proxies.includes('product')) {
      for (const scenario of s.scenarios) {
        const profileDir = path.join(dir, `profile-${scenario}`);
        const run = await oneRun(setup, 0, scenario, 'product', `${s.productNodeOptions} --cpu-prof --cpu-prof-dir ${profileDir}`);
        say(`profiled ${scenario} product: ${run.line}`);
        profiles.push({ scenario, lines: [`Run: \`${run.line.replace(/ outdir=\S+/, '')}\``, ...summaryMarkdown(await summarise(profileDir))] });
        if (s.write) await writeFile(RESULTS, await report());
        await sleep(PAUSE_BETWEEN_RUNS_MS);
      }
    }
    if (s.ceiling) {
      for (const proxy of s.proxies) {
        ceilings.push(
          await ceilingOf({ harness: s.harness, dir, databaseUrl: database.url, secrets: setup.secrets, workers: s.workers, reps: s.ceilingReps, start: s.ceilingStart }, proxy, say),
        );
        if (s.write) await writeFile(RESULTS, await report());
      }
    }
    say(`\n${await report()}`);
    if (s.write) await writeFile(RESULTS, await report());
    say(`SIP workers: ${s.workers}; logs under ${dir}`);
  } finally {
    await stopTestServer();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
