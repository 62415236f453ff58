import { isIP } from 'node:net';

/**
 * What the SIP node's main thread tells a worker to probe with OPTIONS (runs on both threads: the
 * main thread builds the message, the worker checks it). One target per registration binding the
 * node holds the lease of (probe-leases.ts); the worker probes exactly the list it was last sent.
 */
export interface ProbeTarget {
  readonly registrationId: string;
  readonly trunkId: string;
  /** The Contact URI the PBX registered: the Request-URI and To of the OPTIONS. */
  readonly contact: string;
  /** Where the REGISTER came from: the OPTIONS goes there, as calls do (NAT). */
  readonly address: string;
  readonly port: number;
  /** Between two probes of this binding. */
  readonly intervalMs: number;
  /** No final response within this long is a failure: min(5 s, interval). */
  readonly timeoutMs: number;
}

/** When a probe was sent and how long its answer took: `trunk_health.last_probe_at`, `last_probe_rtt_ms`. */
export interface ProbeReading {
  /** Epoch milliseconds. */
  readonly at: number;
  /** Null when no final response came. */
  readonly rttMs: number | null;
}

/** The control message that replaces a worker's list of probe targets. */
export interface ProbeTargetsMessage {
  readonly kind: 'probe-targets';
  readonly targets: readonly ProbeTarget[];
}

/** Longest a timer may count in Node.js (2^31 - 1 ms); longer values fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TIMER_MS;
}

function isProbeTarget(value: unknown): value is ProbeTarget {
  const target = value as Partial<ProbeTarget> | null;
  return (
    typeof target === 'object' &&
    target !== null &&
    typeof target.registrationId === 'string' &&
    typeof target.trunkId === 'string' &&
    typeof target.contact === 'string' &&
    typeof target.address === 'string' &&
    isIP(target.address) !== 0 &&
    typeof target.port === 'number' &&
    Number.isInteger(target.port) &&
    target.port >= 1 &&
    target.port <= 65535 &&
    isDuration(target.intervalMs) &&
    isDuration(target.timeoutMs) &&
    target.timeoutMs <= target.intervalMs
  );
}

/** Checks the whole message: a worker probes nothing it was not clearly told to. */
export function isProbeTargetsMessage(payload: unknown): payload is ProbeTargetsMessage {
  const value = payload as Partial<ProbeTargetsMessage> | null;
  return typeof value === 'object' && value !== null && value.kind === 'probe-targets' && Array.isArray(value.targets) && value.targets.every(isProbeTarget);
}

/** Whether two targets would be probed alike (the same binding, destination and timing). */
export function sameProbeTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return (
    a.registrationId === b.registrationId &&
    a.trunkId === b.trunkId &&
    a.contact === b.contact &&
    a.address === b.address &&
    a.port === b.port &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs
  );
}
