import type { TestApi } from '../test/support/api';
import { waitUntil, type Remote, type SipPeer } from '../test/support/sip-peer';
import { epochMs, healthState, reasons, settled, timedCall, type BenchTrunk, type Arrival, type Pbx, type Receiver, type TimedCall } from './trunk-health-rig';
import { sleep } from './sip-process';

/**
 * For bench/trunk-health.ts: a registered PBX goes silent at t0, and what callers and the customer
 * see. Passive detection: calls keep coming at CALL_RATE until the webhook says FAILOVER_STARTED;
 * the calls placed before the trunk went DOWN each wait the whole no-1xx timeout (every call
 * did so before trunk health), then AFTER_DOWN_CALLS at AFTER_DOWN_RATE fail over at once.
 * OPTIONS probing: no call at all until the webhook; then the same burst of calls.
 */
export const CALL_RATE = 2;
export const AFTER_DOWN_CALLS = 200;
export const AFTER_DOWN_RATE = 20;
export const OPTIONS_HEALTH_CHECK = { enabled: true, intervalSeconds: 5, failuresToDown: 3 } as const;
/** The probe's timeout (the issue: 5 s, or the interval if shorter). */
const PROBE_TIMEOUT_S = Math.min(5, OPTIONS_HEALTH_CHECK.intervalSeconds);
/** Slack on every wait for the product, beyond what its settings make it take. */
const SLACK_MS = 10_000;

/** Whole figures of one silent PBX, times in ms from t0 (the PBX falling silent) unless named otherwise. */
export interface SilenceFigures {
  /** The trunk_event's `at` (written by the SIP role when the trunk went DOWN). */
  readonly downMs: number;
  /** The FAILOVER_STARTED POST reaching the receiver. */
  readonly webhookMs: number;
  readonly reason: string | null;
  /** Calls placed between t0 and the trunk going DOWN (passive), with INVITE to final response each. */
  readonly beforeDown: readonly number[];
  /** Calls after DOWN that failed over at once with PBX_DOWN: INVITE to the caller's 200 from the failover target. */
  readonly pbxDown: readonly number[];
  /** Calls after DOWN that tried the PBX first (passive detection's every 10th call), INVITE to final response. */
  readonly trials: readonly number[];
  /**
   * Calls after DOWN still sent to the PBX with the full timeout (the DOWN not yet in the snapshot
   * of the worker that took the call): INVITE to final response, and how long after DOWN each was placed.
   */
  readonly lateFullTimeout: readonly { readonly ms: number; readonly placedAfterDownMs: number }[];
  /** INVITEs the silent PBX received after its trunk went DOWN. */
  readonly invitesWhileDown: number;
  /** Calls whose final response was not a 200 from the failover target, or that got none. */
  readonly unexpected: readonly string[];
  /** OPTIONS the PBX received after t0 (it answered none). */
  readonly optionsAfterSilence: number;
}

export type OptionsOutcome = { readonly measured: true; readonly figures: SilenceFigures } | { readonly measured: false; readonly why: string };

/** Places a call every 1/`rate` s on a fixed schedule (no drift) while `more()` holds, at most `max`. */
async function atRate(rate: number, max: number, more: () => boolean, place: () => void): Promise<void> {
  const began = epochMs();
  for (let n = 0; n < max && more(); n++) {
    const wait = began + (n * 1000) / rate - epochMs();
    if (wait > 0) await sleep(wait);
    if (more()) place();
  }
}

async function registered(api: TestApi, trunkId: string): Promise<void> {
  await waitUntil(async () => ((await api.dataSource.query('SELECT registered FROM trunk_health WHERE trunk_id = $1', [trunkId])) as { registered: boolean }[])[0]?.registered, 5_000, 'the registration in trunk_health');
}

const isStart = (trunk: BenchTrunk) => (arrival: { event: { trunkId: string; type: string } }) => arrival.event.trunkId === trunk.trunkId && arrival.event.type === 'FAILOVER_STARTED';
const took = (call: TimedCall): number => (call.final === null ? NaN : call.final.at - call.placedAt);

/** The no-1xx timeout of a trial call (passive detection's every 10th call to a DOWN trunk). */
const TRIAL_TIMEOUT_MS = 2_000;

type Sorted = Pick<SilenceFigures, 'beforeDown' | 'pbxDown' | 'trials' | 'lateFullTimeout' | 'unexpected'>;

/**
 * Sorts the calls by what happened to them, from their records: after DOWN, a call that still
 * tried the PBX is a trial or a late one by which timeout its time is nearer.
 */
async function classify(api: TestApi, beforeDown: readonly TimedCall[], afterDown: readonly TimedCall[], downAt: number, timeoutS: number): Promise<Sorted> {
  const byCall = await reasons(api, [...beforeDown, ...afterDown]);
  const unexpected: string[] = [];
  const check = (call: TimedCall): boolean => {
    const ok = call.final?.status === 200 && byCall.get(call.call.callId) != null;
    if (!ok) unexpected.push(`${call.call.callId}: ${call.final?.status ?? 'no final response'}, ${byCall.get(call.call.callId) ?? 'no failover reason'}`);
    return ok;
  };
  const figures = { beforeDown: [] as number[], pbxDown: [] as number[], trials: [] as number[], lateFullTimeout: [] as { ms: number; placedAfterDownMs: number }[], unexpected };
  for (const call of beforeDown) if (check(call)) figures.beforeDown.push(took(call));
  for (const call of afterDown) {
    if (!check(call)) continue;
    const ms = took(call);
    if (byCall.get(call.call.callId) === 'PBX_DOWN') figures.pbxDown.push(ms);
    else if (Math.abs(ms - TRIAL_TIMEOUT_MS) < Math.abs(ms - timeoutS * 1000)) figures.trials.push(ms);
    else figures.lateFullTimeout.push({ ms, placedAfterDownMs: call.placedAt - downAt });
  }
  return figures;
}

/** AFTER_DOWN_CALLS calls at AFTER_DOWN_RATE, each to its end. */
async function burst(carrier: SipPeer, proxy: Remote, trunk: BenchTrunk): Promise<TimedCall[]> {
  const calls: TimedCall[] = [];
  await atRate(AFTER_DOWN_RATE, AFTER_DOWN_CALLS, () => true, () => calls.push(timedCall(carrier, proxy, trunk.did)));
  await settled(calls, 20_000);
  return calls;
}

/** A registered PBX that answers, then falls silent at t0 while calls come at CALL_RATE: passive detection alone. */
export async function passiveSilence(api: TestApi, carrier: SipPeer, proxy: Remote, pbx: Pbx, receiver: Receiver, trunk: BenchTrunk, timeoutS: number): Promise<SilenceFigures> {
  await pbx.register(proxy, trunk.username);
  await registered(api, trunk.trunkId);
  // Two answered calls: the trunk is UP, as a working PBX's trunk is.
  const warm = [timedCall(carrier, proxy, trunk.did), timedCall(carrier, proxy, trunk.did)];
  await settled(warm, 5_000);
  await waitUntil(async () => (await healthState(api, trunk.trunkId)) === 'UP', 5_000, 'the trunk UP');

  const optionsBefore = pbx.options.length;
  const t0 = epochMs();
  pbx.silent = true;
  const steady: TimedCall[] = [];
  const seen: { arrival: Arrival | null } = { arrival: null };
  const waiting = receiver.first(isStart(trunk), timeoutS * 1000 + SLACK_MS).then((arrival) => (seen.arrival = arrival));
  await atRate(CALL_RATE, Number.MAX_SAFE_INTEGER, () => seen.arrival === null && epochMs() - t0 < timeoutS * 1000 + SLACK_MS, () => steady.push(timedCall(carrier, proxy, trunk.did)));
  const arrival = await waiting;
  if (arrival === null) throw new Error(`no FAILOVER_STARTED within ${timeoutS} s + ${SLACK_MS / 1000} s of the PBX falling silent`);
  const downAt = Date.parse(arrival.event.at);
  const after = await burst(carrier, proxy, trunk);
  await settled(steady, timeoutS * 1000 + SLACK_MS);
  const beforeDown = steady.filter((call) => call.placedAt < downAt);
  const figures = await classify(api, beforeDown, [...steady.filter((call) => call.placedAt >= downAt), ...after], downAt, timeoutS);
  const invitesWhileDown = pbx.invites.filter((at) => at >= downAt).length;
  return { downMs: downAt - t0, webhookMs: arrival.at - t0, reason: arrival.event.reason, ...figures, invitesWhileDown, optionsAfterSilence: pbx.options.length - optionsBefore };
}

/**
 * A registered PBX on a trunk with OPTIONS probing falls silent at t0 and no call is placed: the
 * trunk must go DOWN from probes alone. Not measured when no OPTIONS reaches the PBX within two
 * intervals of its registration (a build without probing), or the trunk never goes DOWN within
 * interval × failuresToDown + the probe timeout + an interval + SLACK_MS.
 */
export async function probedSilence(api: TestApi, carrier: SipPeer, proxy: Remote, pbx: Pbx, receiver: Receiver, trunk: BenchTrunk, timeoutS: number): Promise<OptionsOutcome> {
  const intervalMs = OPTIONS_HEALTH_CHECK.intervalSeconds * 1000;
  await pbx.register(proxy, trunk.username);
  await registered(api, trunk.trunkId);
  const firstProbe = await waitUntil(() => pbx.options.length > 0, 2 * intervalMs + 2_000, 'an OPTIONS').catch(() => false);
  if (!firstProbe) return { measured: false, why: `probing not present: no OPTIONS reached the registered PBX within ${(2 * intervalMs + 2_000) / 1000} s` };
  const up = await waitUntil(async () => (await healthState(api, trunk.trunkId)) === 'UP', 2 * intervalMs + SLACK_MS, 'the trunk UP from probes').catch(() => false);
  if (!up) return { measured: false, why: `probes reached the PBX, which answered them, but the trunk was ${await healthState(api, trunk.trunkId)}, never UP` };

  const t0 = epochMs();
  pbx.silent = true;
  const boundMs = OPTIONS_HEALTH_CHECK.failuresToDown * intervalMs + PROBE_TIMEOUT_S * 1000 + intervalMs + SLACK_MS;
  const arrival = await receiver.first(isStart(trunk), boundMs);
  if (arrival === null) return { measured: false, why: `probing present (${pbx.options.length} OPTIONS) but the trunk, with no call placed, was ${await healthState(api, trunk.trunkId)} ${boundMs / 1000} s after its PBX fell silent` };
  const downAt = Date.parse(arrival.event.at);
  const after = await burst(carrier, proxy, trunk);
  const figures = await classify(api, [], after, downAt, timeoutS);
  const invitesWhileDown = pbx.invites.filter((at) => at >= downAt).length;
  return {
    measured: true,
    figures: { downMs: downAt - t0, webhookMs: arrival.at - t0, reason: arrival.event.reason, ...figures, invitesWhileDown, optionsAfterSilence: pbx.options.filter((at) => at >= t0).length },
  };
}
