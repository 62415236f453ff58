import type { GcPauses } from './sip-process';

/** For bench/sip-load.ts: what a step measured, and the markdown report of a run. */

export type Kind = 'deliver' | 'pbx503' | 'unregistered';
export const KINDS: readonly Kind[] = ['deliver', 'pbx503', 'unregistered'];
const KIND_TEXT: Record<Kind, string> = {
  deliver: 'delivered to the registered PBX (INVITE/100/180/200/ACK/BYE)',
  pbx503: 'PBX answers 503, failover FORWARD to a sipp UAS that answers 200',
  unregistered: 'trunk not registered, failover FORWARD to a sipp UAS that answers 200',
};

export interface StepResult {
  readonly kind: Kind;
  readonly workers: number;
  readonly rate: number;
  readonly calls: number;
  readonly successful: number;
  readonly failedRatio: number;
  readonly achievedRate: number;
  readonly retransmissions: number;
  readonly pass: boolean;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly sipCpuS: number;
  readonly cpuPerCallUs: number;
  readonly postgresCpuPerCallUs: number;
  readonly machineBusy: number;
  readonly rssMb: number;
  readonly hwmMb: number;
  readonly gc: GcPauses | null;
  readonly problems: string[];
}

export interface Measured {
  readonly workers: number;
  readonly kind: Kind;
  readonly best: StepResult | null;
  readonly fixed: StepResult | null;
  readonly steps: StepResult[];
  readonly cutShort: boolean;
}

const KAMAILIO: Record<Kind, string> = { deliver: '5,700', pbx503: '5,500', unregistered: '6,000' };

export interface RunFacts {
  readonly facts: readonly string[];
  readonly command: string;
  readonly totalS: number;
  readonly stepS: number;
  readonly warmRate: number;
  readonly warmS: number;
}

export function report(measured: readonly Measured[], { facts, command, totalS, stepS, warmRate, warmS }: RunFacts): string {
  const rows = measured.map(({ workers, kind, best, fixed, cutShort }) =>
    [
      String(workers),
      kind,
      `${best === null ? '< 500' : String(best.rate)}${cutShort ? ' (search cut short: time budget)' : ''}`,
      best === null ? '-' : `${fmt(best.p50Ms)} / ${fmt(best.p95Ms)} / ${fmt(best.p99Ms)} / ${fmt(best.maxMs)}`,
      best === null ? '-' : `${best.hwmMb.toFixed(0)}`,
      best === null ? '-' : `${(best.machineBusy * 100).toFixed(0)} %`,
      fixed === null ? '-' : `${fixed.cpuPerCallUs.toFixed(0)}${fixed.pass ? '' : ' (failed step)'}`,
      fixed === null ? '-' : `${fixed.postgresCpuPerCallUs.toFixed(0)}`,
      fixed === null ? '-' : `${fixed.rssMb.toFixed(0)}`,
      KAMAILIO[kind],
    ].join(' | '),
  );
  const steps = measured.flatMap(({ steps: list }) =>
    list.map((s) =>
      [
        String(s.workers),
        s.kind,
        String(s.rate),
        s.pass ? 'pass' : 'FAIL',
        `${s.successful}/${s.calls}`,
        `${(s.failedRatio * 100).toFixed(3)} %`,
        s.achievedRate.toFixed(0),
        String(s.retransmissions),
        `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)}`,
        s.cpuPerCallUs.toFixed(0),
        `${(s.machineBusy * 100).toFixed(0)} %`,
        s.rssMb.toFixed(0),
      ].join(' | '),
    ),
  );
  return [
    '# SIP load: sipp carrier -> SIP role -> sipp PBX / failover target',
    '',
    `\`${command}\` (bench/sip-load.ts), ${new Date().toISOString().slice(0, 10)}, ${(totalS / 60).toFixed(1)} min.`,
    '',
    ...facts.map((fact) => `- ${fact}`),
    '',
    'Highest rate with under 0.1 % failed calls: ramp 500, 1,000, then +1,000 a step, then bisect to 125;',
    `each step is ${stepS} s of calls at that rate (holding 0 s: BYE right after the ACK) against a fresh SIP process`,
    `warmed up with ${warmRate} calls/s for ${warmS} s; a step also fails when sipp could not keep 95 % of the rate.`,
    "Setup is sipp's response time 1, INVITE sent to 200 received, in whole milliseconds (sipp's clock), at",
    "that rate. Peak RSS is the SIP process's VmHWM in that step. CPU per call is the SIP process's user+sys",
    'time (all threads: edge, workers, V8) over the 1,000 calls/s step and the second after it (batched call',
    'records), divided by its calls; PostgreSQL CPU is that of the local `postgres` processes in the same window.',
    '',
    '| SIP workers | calls | max calls/s | setup ms p50 / p95 / p99 / max | peak RSS MB | machine busy | SIP CPU µs/call at 1,000/s | PostgreSQL CPU µs/call | RSS MB at 1,000/s | Kamailio 5.6 calls/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
    '',
    'Kamailio 5.6 reference (from the issue, same job on such a machine): about 310 µs CPU per call at 1,000 calls/s.',
    '',
    'Reading these figures: near the highest rate a step either passes or collapses. Once the SIP role lags more',
    "than 500 ms, the carrier retransmits its INVITEs (RFC 3261 Timer A), the retransmissions add load and",
    'throughput falls well below the offered rate (the FAIL rows below). So repeated runs differ by a few hundred',
    'calls/s at the edge, and a pass with retransmissions is a pass already on the edge.',
    '',
    'Calls: ' + KINDS.map((kind) => `\`${kind}\`: ${KIND_TEXT[kind]}`).join('; ') + '.',
    '',
    '## Every step',
    '',
    '| workers | calls | rate/s | verdict | ok/placed | failed | achieved/s | retrans | setup ms p50 / p99 | SIP CPU µs/call | machine busy | RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...steps.map((row) => `| ${row} |`),
    '',
  ].join('\n');
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}
