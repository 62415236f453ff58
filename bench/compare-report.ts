/**
 * For bench/compare.ts: the anchor harness's result.json fields it uses, and the markdown report
 * (method, machine, raw lines, medians per path and the CPU ratio product / Kamailio).
 */
export type Scenario = 'normal' | 'fail503' | 'unreg';
export type Proxy = 'kamailio' | 'product';

export const PATHS: readonly { scenario: Scenario; name: string }[] = [
  { scenario: 'normal', name: 'delivered' },
  { scenario: 'fail503', name: 'PBX 503 failover' },
  { scenario: 'unreg', name: 'unregistered failover' },
];

/** The fields of the harness's result.json read here. */
export interface AnchorResult {
  scenario: string;
  rate: number;
  calls: number;
  ok: number;
  failed: number;
  fail_pct: number;
  cps: number;
  p99_ms: number;
  retrans: number;
  routing: string;
  proxy_cpu_pct: number;
  proxy_cpu_us_per_call: number;
  proxy_pss_mb: number;
  proxy_procs: number;
  aux_cpu_us_per_call?: number;
  sipp_cpu_pct: number;
  other_cpu_pct: number;
  pass: boolean;
}

export interface Run {
  rep: number;
  scenario: Scenario;
  proxy: Proxy;
  /** null when the harness stopped with a setup error (exit 2). */
  result: AnchorResult | null;
  exitCode: number;
  line: string;
}

export interface ReportInput {
  command: string;
  date: string;
  seconds: number;
  machine: string;
  software: string;
  loadBefore: number[];
  loadAfter: number[];
  code: string;
  database: string;
  harness: string;
  rate: number;
  workers: number;
  durationS: number;
  reps: number;
  note: string | null;
  runs: readonly Run[];
  problems: readonly string[];
  /** `--profile`: per path, the summary of a product run under `--cpu-prof` (bench/profile-summary.ts). */
  profiles: readonly { scenario: Scenario; lines: readonly string[] }[];
  /** `--ceiling`: its markdown section (bench/compare-ceiling.ts), or none. */
  ceiling: readonly string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const loads = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');

function results(runs: readonly Run[], scenario: Scenario, proxy: Proxy): AnchorResult[] {
  return runs.filter((run) => run.scenario === scenario && run.proxy === proxy && run.result !== null).map((run) => run.result as AnchorResult);
}

function summaryRow(runs: readonly Run[], scenario: Scenario, name: string): string {
  const product = results(runs, scenario, 'product');
  const kamailio = results(runs, scenario, 'kamailio');
  const med = (list: AnchorResult[], pick: (result: AnchorResult) => number) => median(list.map(pick));
  const productCpu = med(product, (r) => r.proxy_cpu_us_per_call);
  const kamailioCpu = med(kamailio, (r) => r.proxy_cpu_us_per_call);
  const dbCpu = med(product, (r) => r.aux_cpu_us_per_call ?? NaN);
  return [
    `${name} (\`${scenario}\`)`,
    `${fixed(productCpu, 0)} µs (+ ${fixed(dbCpu, 0)} µs PostgreSQL)`,
    `${fixed(kamailioCpu, 0)} µs`,
    `${fixed(med(product, (r) => r.fail_pct), 3)} %`,
    `${fixed(med(product, (r) => r.p99_ms), 0)} / ${fixed(med(kamailio, (r) => r.p99_ms), 0)} ms`,
    `${fixed(med(product, (r) => r.proxy_pss_mb), 0)} / ${fixed(med(kamailio, (r) => r.proxy_pss_mb), 0)} MB`,
    `**${fixed(productCpu / kamailioCpu, 2)}×**`,
  ].join(' | ');
}

export function compareMarkdown(input: ReportInput): string {
  const lines = [
    '# Product against Kamailio under the same SIPp load',
    '',
    `\`${input.command}\`, ${input.date}, ${input.seconds.toFixed(0)} s in all. Code: ${input.code}.`,
    '',
    '## Method',
    '',
    `The anchor harness (\`${input.harness}/run.sh\`, not copied here) drives both proxies with the same SIPp`,
    `load: ${input.rate} calls/s for ${input.durationS} s (${input.rate * input.durationS} calls), 100 ms hold, the harness's flags.`,
    `${input.reps} repetition(s), interleaved: for each repetition, for each path, Kamailio, then the product.`,
    'Kamailio is started fresh by run.sh for each run (its anchor config: tlsf, 4 UDP workers, 1 GB shm).',
    'The product runs as `npm start` does (`node dist/app/main.js`, both roles, default log level `info`,',
    `${input.workers} SIP worker${input.workers === 1 ? '' : 's'}) on udp 127.0.0.1:5070, started fresh for each of its runs as run.sh starts Kamailio (both`,
    'need the port), on one database configured once over GraphQL with the operator key: carrier',
    '127.0.0.0/8, trunk `trunk1` with DID +4930123456 (MD5 digest, limit 10000), failover on into a dial plan',
    'FORWARD to sip:failover@127.0.0.1:5090, no-1xx timeout 15 s. Its runs use `--no-proxy --proxy-pgid`',
    '(the whole process tree: main thread, API, SIP workers) `--register-auth trunk1:… --settle-ms 1000`, and',
    '`--aux-pids` with its PostgreSQL backends (reported apart, not in the product\'s CPU).',
    `Database: ${input.database}.`,
    '',
    'CPU per call is the proxy\'s CPU time over the load window divided by the calls offered; a proxy that',
    'saturates the cores and refuses calls shows less than its cost per completed call. Setup p99 is SIPp\'s',
    'rtd (INVITE to 200), whose clock moves in ~4 ms steps on loopback; no packet capture (it costs CPU).',
    'Memory is the PSS of the proxy\'s processes at the end of the load.',
    ...(input.note === null ? [] : ['', `**${input.note}**`]),
    '',
    '## Machine',
    '',
    input.machine,
    '',
    input.software,
    '',
    `Load average (1 / 5 / 15 min) at start: ${loads(input.loadBefore)}; at the end: ${loads(input.loadAfter)}.`,
    '',
    '## Summary (medians over the repetitions)',
    '',
    '| path | product CPU / call | Kamailio CPU / call (same run) | product failed calls | setup p99 product / Kamailio (SIPp rtd) | memory (PSS) product / Kamailio | CPU ratio product / Kamailio |',
    '|---|---|---|---|---|---|---|',
    ...PATHS.map((path) => `| ${summaryRow(input.runs, path.scenario, path.name)} |`),
    '',
    '## Runs',
    '',
    '| rep | path | proxy | pass | ok / calls | failed % | cps | CPU % | CPU µs / call | PostgreSQL µs / call | p99 ms | PSS MB | retrans | routing | SIPp CPU % | other CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...input.runs.map((run) => {
      const r = run.result;
      if (r === null) return `| ${run.rep} | ${run.scenario} | ${run.proxy} | setup error (exit ${run.exitCode}) | | | | | | | | | | | | |`;
      const db = run.proxy === 'product' ? fixed(r.aux_cpu_us_per_call ?? NaN, 0) : '';
      return `| ${run.rep} | ${run.scenario} | ${run.proxy} | ${r.pass ? 'yes' : 'no'} | ${r.ok} / ${r.calls} | ${fixed(r.fail_pct, 3)} | ${fixed(r.cps, 1)} | ${fixed(r.proxy_cpu_pct, 1)} | ${fixed(r.proxy_cpu_us_per_call, 0)} | ${db} | ${fixed(r.p99_ms, 0)} | ${fixed(r.proxy_pss_mb, 0)} | ${r.retrans} | ${r.routing} | ${fixed(r.sipp_cpu_pct, 1)} | ${fixed(r.other_cpu_pct, 1)} |`;
    }),
    '',
    'Raw result lines of run.sh:',
    '',
    '```',
    ...input.runs.map((run) => `rep=${run.rep} proxy=${run.proxy} ${run.line}`),
    '```',
    '',
    ...(input.profiles.length === 0
      ? []
      : [
          '## Profile of the product (`--profile`)',
          '',
          'One more product run per path, under `node --cpu-prof`, after the measured runs (profiling costs CPU, so',
          'these runs are not in the tables above). Self time per entry as a share of each kind of thread\'s busy time;',
          'sampled on the wall clock, so it includes time a thread was ready but had no CPU.',
          ...input.profiles.flatMap((profile) => ['', `### ${PATHS.find((path) => path.scenario === profile.scenario)?.name ?? profile.scenario} (\`${profile.scenario}\`)`, ...profile.lines]),
          '',
        ]),
    ...input.ceiling,
    '## Product log lines at warn or worse',
    '',
    ...(input.problems.length === 0 ? ['None.'] : ['```', ...input.problems.slice(0, 20).map((line) => line.slice(0, 300)), '```', `(${input.problems.length} in all)`]),
    '',
  ];
  return lines.join('\n');
}
