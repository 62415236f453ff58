import { percentile } from './dial-plan-ring';
import { AFTER_DOWN_CALLS, AFTER_DOWN_RATE, CALL_RATE, OPTIONS_HEALTH_CHECK, type OptionsOutcome, type SilenceFigures } from './trunk-health-calls';
import { EVENT_RATE, EVENTS, type EventFigures, type Latencies } from './trunk-health-events';

/** For bench/trunk-health.ts: its figures as bench/results/trunk-health.md. */
export interface HealthBenchResults {
  readonly command: string;
  readonly date: string;
  readonly seconds: number;
  readonly machine: string;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly cpus: number;
  readonly code: string;
  readonly database: string;
  readonly timeoutS: number;
  readonly workers: number;
  readonly passive: SilenceFigures;
  readonly probed: OptionsOutcome;
  readonly events: EventFigures;
  readonly problems: readonly string[];
}

/** p50 / p99 / max, one decimal. */
export function spread(values: readonly number[]): string {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  return `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)} / ${sorted[sorted.length - 1].toFixed(1)}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function lateRow(mode: string, f: SilenceFigures, timeoutS: number): string[] {
  if (f.lateFullTimeout.length === 0) return [];
  const placed = f.lateFullTimeout.map((call) => call.placedAfterDownMs.toFixed(0)).join(', ');
  return [`| ${mode}: calls after DOWN still sent to the PBX with the full timeout, the DOWN not yet in their worker's snapshot (placed ${placed} ms after DOWN) | ${f.lateFullTimeout.length} | ${spread(f.lateFullTimeout.map((call) => call.ms))} | the no-1xx timeout (${timeoutS} s), then the plan |`];
}

function failoverRows(r: HealthBenchResults): string[] {
  const p = r.passive;
  const rows = [
    `| off: what every call took before trunk health (passive detection on, the calls placed after the PBX fell silent and before its trunk went DOWN) | ${p.beforeDown.length} | ${spread(p.beforeDown)} | the no-1xx timeout (${r.timeoutS} s), then the plan |`,
    `| passive on: the calls after DOWN that failed over with PBX_DOWN | ${p.pbxDown.length} | ${spread(p.pbxDown)} | no INVITE to the PBX |`,
    `| passive on: the calls after DOWN that tried the PBX first (every 10th, no-1xx timeout 2 s) | ${p.trials.length} | ${spread(p.trials)} | how passive detection sees the PBX come back |`,
    ...lateRow('passive on', p, r.timeoutS),
  ];
  if (r.probed.measured) {
    const o = r.probed.figures;
    rows.push(`| OPTIONS on: the calls after DOWN (from probes alone) that failed over with PBX_DOWN | ${o.pbxDown.length} | ${spread(o.pbxDown)} | no INVITE to the PBX |`);
    if (o.trials.length > 0) rows.push(`| OPTIONS on: calls after DOWN that tried the PBX with a trial's 2 s timeout | ${o.trials.length} | ${spread(o.trials)} | |`);
    rows.push(...lateRow('OPTIONS on', o, r.timeoutS));
  } else {
    rows.push(`| OPTIONS on | - | ${r.probed.why} | |`);
  }
  return rows;
}

function webhookRows(r: HealthBenchResults): string[] {
  const row = (name: string, f: SilenceFigures) => `| ${name} | ${seconds(f.downMs)} | ${(f.webhookMs - f.downMs).toFixed(1)} ms | ${seconds(f.webhookMs)} | ${f.reason ?? ''} |`;
  const probed = r.probed.measured
    ? row(`OPTIONS probing (interval ${OPTIONS_HEALTH_CHECK.intervalSeconds} s, ${OPTIONS_HEALTH_CHECK.failuresToDown} failures to DOWN), no call placed`, r.probed.figures)
    : `| OPTIONS probing | ${r.probed.why} | | | |`;
  return [row(`passive detection, calls at ${CALL_RATE}/s, no-1xx timeout ${r.timeoutS} s`, r.passive), probed];
}

function latencyRow(name: string, l: Latencies | string): string {
  if (typeof l === 'string') return `| ${name} | ${l} | | | | | |`;
  return `| ${name} | ${l.fromCommitMs.length} / ${EVENTS} | ${l.deliveredOnce} | ${l.duplicates} | ${l.missing} | ${spread(l.fromCommitMs)} | ${spread(l.fromAtMs)} |`;
}

function unexpected(r: HealthBenchResults): string[] {
  const all = [...r.passive.unexpected, ...(r.probed.measured ? r.probed.figures.unexpected : [])];
  return all.length === 0 ? ['Calls with another ending than the failover target\'s 200 and a failover reason on their record: none.'] : [`Calls with another ending (${all.length}): ${all.slice(0, 5).map((line) => `\`${line}\``).join('; ')}.`];
}

export function healthMarkdown(r: HealthBenchResults): string {
  const p = r.passive;
  return [
    '# Trunk health: failover to a dead PBX, the webhook, event delivery',
    '',
    `\`${r.command}\` (bench/trunk-health.ts, -rig.ts, -calls.ts, -events.ts, -report.ts), ${r.date}, ${r.seconds.toFixed(0)} s.`,
    '',
    `- machine: ${r.machine}`,
    `- shared with other work: load average ${r.loadBefore.toFixed(1)} at the start, ${r.loadAfter.toFixed(1)} at the end (1 min, ${r.cpus} CPUs); a quiet machine's figures may be lower, the p99 and max especially`,
    `- code: ${r.code}; database: ${r.database}`,
    `- the product: \`node dist/app/main.js --role all\` (the API with its webhook dispatcher in its own thread, the SIP edge on the main thread), ${r.workers} SIP workers, LOG_LEVEL=info`,
    '- this process: the carrier, the PBXs and the failover target as real `sip` stacks, the webhook receiver (HTTP, answers 200 at once); all on 127.0.0.1, on the same cores as the product and PostgreSQL; every time read on one clock here, except an event\'s `at`, written by the product\'s SIP role (same machine clock)',
    '- each trunk: failover on, into a plan whose one step FORWARDs to a target that answers 200 at once; a webhook endpoint of its company for every event type; the operator allow-list 127.0.0.0/8',
    '- the PBX: registers, answers INVITE (100, 180, 200) and OPTIONS (200); at t0 it falls silent: it answers nothing, neither INVITE nor OPTIONS',
    '',
    '## 1. Failover time for a call to a dead PBX',
    '',
    `Per call: from the carrier's INVITE handed to its stack to the caller's final response, the failover target's 200. Passive`,
    `detection: after two answered calls (trunk UP) the PBX falls silent and calls come at ${CALL_RATE}/s until the webhook reports`,
    `FAILOVER_STARTED, then ${AFTER_DOWN_CALLS} calls at ${AFTER_DOWN_RATE}/s. Health cannot be switched off (passive detection is always on), so "off" is`,
    'the calls placed before the trunk went DOWN: each waits the whole no-1xx timeout, as every call did before trunk',
    `health. OPTIONS probing: \`healthCheck: {enabled: true, intervalSeconds: ${OPTIONS_HEALTH_CHECK.intervalSeconds}, failuresToDown: ${OPTIONS_HEALTH_CHECK.failuresToDown}}\` set through the API, no call`,
    `until the trunk is DOWN from probes alone, then the same ${AFTER_DOWN_CALLS} calls. Calls are sorted by the failover reason on their record.`,
    '',
    '| mode | calls | INVITE to the failover target\'s 200 at the caller, ms p50 / p99 / max | |',
    '|---|---|---|---|',
    ...failoverRows(r),
    '',
    `Passive detection took the trunk DOWN after its threshold of failed calls (failuresToDown ${OPTIONS_HEALTH_CHECK.failuresToDown}, the default): when the`,
    `${OPTIONS_HEALTH_CHECK.failuresToDown}rd call placed after t0 (${((OPTIONS_HEALTH_CHECK.failuresToDown - 1) / CALL_RATE).toFixed(1)} s after it at ${CALL_RATE} calls/s) reached its timeout, plus the evidence batch (150 ms) and the`,
    `health store's transaction. ${p.beforeDown.length} calls were placed in the ${seconds(p.downMs)} from silence to DOWN; every one of them waited the timeout.`,
    ...unexpected(r),
    '',
    '## 2. From the PBX falling silent to the webhook',
    '',
    'From t0 (the PBX falls silent) to the trunk going DOWN (the FAILOVER_STARTED event\'s `at`), from there to the POST',
    'reaching the receiver, and the whole.',
    '',
    '| detection | silent to DOWN | DOWN to webhook | silent to webhook | reason |',
    '|---|---|---|---|---|',
    ...webhookRows(r),
    '',
    `OPTIONS the passive trunk's PBX received after t0: ${p.optionsAfterSilence} (its trunk has no health check)${r.probed.measured ? `; the probed trunk's PBX: ${r.probed.figures.optionsAfterSilence}` : ''}.`,
    `INVITEs the silent PBX received after its trunk went DOWN: passive ${p.invitesWhileDown} (trials and late calls)${r.probed.measured ? `, OPTIONS ${r.probed.figures.invitesWhileDown}` : ''}.`,
    '',
    `## 3. Event delivery latency over ${EVENTS.toLocaleString('en')} events`,
    '',
    `${EVENTS.toLocaleString('en')} trunk events (FAILOVER_STARTED and FAILOVER_ENDED in turn) for a trunk with no PBX, inserted at ${EVENT_RATE}/s (took`,
    `${r.events.insertSeconds.toFixed(1)} s) as the health store inserts them: one transaction each, under \`pg_advisory_xact_lock(TRUNK_EVENT_LOCK)\`,`,
    '`at` from the writer\'s clock just before the INSERT. Per event: from COMMIT returning here (and from its `at`) to its first',
    'arrival. One event before them, not counted, awaited on every path. A duplicate is a second arrival of an event id.',
    '',
    '| path | delivered / events | delivered once | duplicates | missing | from commit, ms p50 / p99 / max | from `at`, ms p50 / p99 / max |',
    '|---|---|---|---|---|---|---|',
    latencyRow('webhook POST at the receiver', r.events.webhook),
    latencyRow('`trunkEvents(companyId)` subscription (graphql-transport-ws)', r.events.subscription),
    '',
    `Warn-or-worse log lines of the product: ${r.problems.length}${r.problems.length > 0 ? `, first: \`${r.problems[0].slice(0, 300)}\`` : ''}.`,
    '',
  ].join('\n');
}
