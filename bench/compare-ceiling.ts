import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { productEnvironment, TRUNK_USER } from './compare-product';
import type { Proxy } from './compare-report';

/**
 * For bench/compare.ts `--ceiling`: the harness's `sweep.sh` (exponential ramp, then bisection to
 * 5 %, `--reps` times, median) for the delivered path (`normal`), against Kamailio (started by
 * run.sh for each trial) and against the product, which run.sh also starts for each trial through
 * `--proxy-cmd` (its process group is what it measures), on the database configured once. The
 * product's settings travel in an environment file readable only by its owner, so no secret is in
 * a command line or in the harness's logs.
 */
const ROOT = path.resolve(__dirname, '..', '..');

export interface Ceiling {
  proxy: Proxy;
  /** Each repetition's ceiling in calls/s; the median; the sweep's log. */
  ceilings: number[];
  median: number | null;
  log: string | null;
  /** The sweep's trial lines (run.sh result lines), secrets removed. */
  trials: string[];
}

export interface CeilingSetup {
  harness: string;
  dir: string;
  databaseUrl: string;
  secrets: { operatorKey: string; sipPassword: string };
  workers: number;
  reps: number;
  start: number;
}

/** A shell word: single-quoted. */
const word = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

async function productCommand(setup: CeilingSetup): Promise<string> {
  const envFile = path.join(setup.dir, 'product.env');
  const env = productEnvironment(setup.databaseUrl, setup.secrets.operatorKey, setup.workers);
  await writeFile(envFile, `${Object.entries(env).map(([key, value]) => `${key}=${word(value)}`).join('\n')}\n`, { mode: 0o600 });
  return `cd ${word(ROOT)} && set -a && . ${word(envFile)} && set +a && exec ${word(process.execPath)} dist/app/main.js`;
}

function sweep(setup: CeilingSetup, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(setup.harness, 'sweep.sh'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => resolve(output));
  });
}

export async function ceilingOf(setup: CeilingSetup, proxy: Proxy, say: (line: string) => void): Promise<Ceiling> {
  const args = ['--scenario', 'normal', '--reps', String(setup.reps), '--start', String(setup.start), '--results', path.join(setup.dir, `ceiling-${proxy}`)];
  if (proxy === 'product') {
    args.push('--drain-after-fail', '5', '--', '--proxy-cmd', await productCommand(setup), '--register-auth', `${TRUNK_USER}:${setup.secrets.sipPassword}`, '--settle-ms', '1000');
  }
  say(`ceiling ${proxy}: sweep.sh ${args.slice(0, 8).join(' ')} …`);
  const output = (await sweep(setup, args)).replaceAll(setup.secrets.sipPassword, '***');
  const trials = output.split('\n').filter((line) => line.startsWith('rep=') || line.startsWith('ceiling ') || line.startsWith('# noisy'));
  for (const line of trials) say(`  ${line.replace(/ outdir=\S+/, '')}`);
  const result = /RESULT .*ceilings=(\S*) median_cps=(\S+) log=(\S+)/.exec(output);
  const ceilings = (result?.[1] ?? '').split(',').filter((value) => value !== '').map(Number);
  return { proxy, ceilings, median: result === null ? null : Number(result[2]), log: result?.[3] ?? null, trials };
}

export function ceilingMarkdown(results: readonly Ceiling[], setup: Pick<CeilingSetup, 'reps' | 'start' | 'workers'>): string[] {
  if (results.length === 0) return [];
  return [
    '## Delivered-call ceiling (`--ceiling`)',
    '',
    `The harness's \`sweep.sh --scenario normal --reps ${setup.reps} --start ${setup.start}\`: the highest offered rate with < 0.1 % failed`,
    'calls, ≥ 95 % of it completed and routing right, to within 5 %, median over the repetitions; it waits for',
    'an idle machine before each 15 s trial. The product is started by run.sh for each trial (`--proxy-cmd`,',
    `${setup.workers} SIP workers) and its PBX registers with digest; Kamailio is started by run.sh as always.`,
    '',
    '| proxy | ceilings (reps) | median calls/s |',
    '|---|---|---|',
    ...results.map((result) => `| ${result.proxy} | ${result.ceilings.join(', ') || 'none'} | ${result.median ?? 'sweep failed'} |`),
    '',
    'Trials:',
    '',
    '```',
    ...results.flatMap((result) => result.trials.map((line) => `${result.proxy}: ${line.replace(/ outdir=\S+/, '')}`)),
    '```',
    '',
  ];
}
