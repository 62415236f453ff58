/**
 * A trunk's health (DESIGN section 1: "reroute all inbound calls till the emergency persists"): a
 * small state machine fed with evidence, with thresholds so that one lost datagram does not flap
 * it. Pure: the store applies it under a row lock (the database is the meeting point of every
 * worker and node), and tests drive it with tables.
 *
 * - `UNKNOWN` until the first evidence; a success makes it `UP`, `failuresToDown` failures in a
 *   row make it `DOWN`.
 * - `UP` → `DOWN` after `failuresToDown` failures in a row (probes or calls: the reason names the
 *   kind of the last one); `DOWN` → `UP` after `successesToUp` successes in a row, or at once after
 *   a trial call's success (passive detection has no probes to bring it back).
 * - Losing the last registration binding is `DOWN` with `NOT_REGISTERED` at once; a binding
 *   appearing again after that loss is `UP` at once (a PBX that registers is alive).
 * - Events, one per transition: `FAILOVER_STARTED` when calls start failing over (from `UP` or
 *   `UNKNOWN` to `DOWN`), `FAILOVER_ENDED` when they stop (`UP` and registered again),
 *   `REGISTRATION_LOST` / `REGISTRATION_RESTORED` when the last binding goes / one comes back. A
 *   trunk's first registration restores nothing: none was lost.
 */

export enum TrunkHealthState {
  UP = 'UP',
  DOWN = 'DOWN',
  UNKNOWN = 'UNKNOWN',
}

export enum TrunkDownReason {
  NOT_REGISTERED = 'NOT_REGISTERED',
  PROBES_FAILING = 'PROBES_FAILING',
  CALLS_FAILING = 'CALLS_FAILING',
}

export enum TrunkEventType {
  FAILOVER_STARTED = 'FAILOVER_STARTED',
  FAILOVER_ENDED = 'FAILOVER_ENDED',
  REGISTRATION_LOST = 'REGISTRATION_LOST',
  REGISTRATION_RESTORED = 'REGISTRATION_RESTORED',
}

export interface HealthThresholds {
  /** 1..10, default 3. */
  readonly failuresToDown: number;
  /** 1..10, default 2. */
  readonly successesToUp: number;
}

export const HEALTH_CHECK_DEFAULTS = { enabled: false, intervalSeconds: 30, failuresToDown: 3, successesToUp: 2 } as const;
export const HEALTH_CHECK_LIMITS = { intervalSeconds: { min: 5, max: 300 }, failuresToDown: { min: 1, max: 10 }, successesToUp: { min: 1, max: 10 } } as const;

export interface TrunkHealth {
  readonly state: TrunkHealthState;
  /** Set exactly when `DOWN`. */
  readonly reason: TrunkDownReason | null;
  /** Whether the trunk has an unexpired registration binding. */
  readonly registered: boolean;
  /** Consecutive failures and successes; one resets the other. */
  readonly failures: number;
  readonly successes: number;
  /** Epoch milliseconds of the last change of state or reason. */
  readonly since: number;
}

export type HealthEvidence =
  /** An OPTIONS probe got a final response (`ok`), or none within its timeout or a transport error. */
  | { readonly kind: 'Probe'; readonly ok: boolean }
  /** A call delivered to the PBX (`ok`: any final answer that is not a failover trigger), or failed over for the PBX. */
  | { readonly kind: 'Call'; readonly ok: boolean }
  /** A call to a `DOWN` trunk that tried the PBX anyway (passive detection): its success brings the trunk back. */
  | { readonly kind: 'Trial'; readonly ok: boolean }
  /** The trunk now has (or no longer has) an unexpired registration binding. */
  | { readonly kind: 'Registration'; readonly registered: boolean };

export interface HealthEvent {
  readonly type: TrunkEventType;
  readonly reason: TrunkDownReason | null;
}

export interface HealthStep {
  readonly health: TrunkHealth;
  readonly events: readonly HealthEvent[];
}

export function initialHealth(registered: boolean, now: number): TrunkHealth {
  return { state: TrunkHealthState.UNKNOWN, reason: null, registered, failures: 0, successes: 0, since: now };
}

/** Whether calls to the trunk fail over at once with `PBX_DOWN`: down because its PBX does not answer. */
export function isPbxDown(health: Pick<TrunkHealth, 'state' | 'reason'>): boolean {
  return health.state === TrunkHealthState.DOWN && health.reason !== TrunkDownReason.NOT_REGISTERED;
}

/** Applies one piece of evidence. Returns the same object when nothing changed. */
export function applyEvidence(health: TrunkHealth, evidence: HealthEvidence, thresholds: HealthThresholds, now: number): HealthStep {
  switch (evidence.kind) {
    case 'Registration':
      return registration(health, evidence.registered, now);
    case 'Probe':
    case 'Call':
    case 'Trial':
      return evidence.ok ? success(health, evidence.kind === 'Trial', thresholds, now) : failure(health, evidence.kind, thresholds, now);
    default: {
      const unknown: never = evidence;
      return unknown;
    }
  }
}

/** Applies evidence in order; events in the order they happened. */
export function applyAll(health: TrunkHealth, evidence: readonly HealthEvidence[], thresholds: HealthThresholds, now: number): HealthStep {
  let current = health;
  const events: HealthEvent[] = [];
  for (const item of evidence) {
    const step = applyEvidence(current, item, thresholds, now);
    current = step.health;
    events.push(...step.events);
  }
  return { health: current, events };
}

function registration(health: TrunkHealth, registered: boolean, now: number): HealthStep {
  if (registered === health.registered) return { health, events: [] };
  if (!registered) {
    const events: HealthEvent[] = [{ type: TrunkEventType.REGISTRATION_LOST, reason: null }];
    if (health.state !== TrunkHealthState.DOWN) events.push({ type: TrunkEventType.FAILOVER_STARTED, reason: TrunkDownReason.NOT_REGISTERED });
    return {
      health: { state: TrunkHealthState.DOWN, reason: TrunkDownReason.NOT_REGISTERED, registered: false, failures: 0, successes: 0, since: now },
      events,
    };
  }
  if (health.reason !== TrunkDownReason.NOT_REGISTERED) return { health: { ...health, registered: true }, events: [] };
  return {
    health: { state: TrunkHealthState.UP, reason: null, registered: true, failures: 0, successes: 0, since: now },
    events: [
      { type: TrunkEventType.REGISTRATION_RESTORED, reason: null },
      { type: TrunkEventType.FAILOVER_ENDED, reason: null },
    ],
  };
}

function success(health: TrunkHealth, trial: boolean, thresholds: HealthThresholds, now: number): HealthStep {
  // Not registered: no call reaches the PBX, and a probe's answer does not make it registered.
  if (health.reason === TrunkDownReason.NOT_REGISTERED) return { health, events: [] };
  const successes = Math.min(health.successes + 1, thresholds.successesToUp);
  switch (health.state) {
    case TrunkHealthState.UP:
      return health.failures === 0 && health.successes === successes ? { health, events: [] } : { health: { ...health, failures: 0, successes }, events: [] };
    case TrunkHealthState.UNKNOWN:
      return { health: { ...health, state: TrunkHealthState.UP, failures: 0, successes, since: now }, events: [] };
    case TrunkHealthState.DOWN:
      if (!trial && successes < thresholds.successesToUp) return { health: { ...health, failures: 0, successes }, events: [] };
      return {
        health: { ...health, state: TrunkHealthState.UP, reason: null, failures: 0, successes, since: now },
        events: health.registered ? [{ type: TrunkEventType.FAILOVER_ENDED, reason: null }] : [],
      };
    default: {
      const unknown: never = health.state;
      return unknown;
    }
  }
}

function failure(health: TrunkHealth, kind: 'Probe' | 'Call' | 'Trial', thresholds: HealthThresholds, now: number): HealthStep {
  if (health.reason === TrunkDownReason.NOT_REGISTERED) return { health, events: [] };
  const failures = health.failures + 1;
  if (health.state === TrunkHealthState.DOWN) {
    return { health: { ...health, failures: Math.min(failures, thresholds.failuresToDown), successes: 0 }, events: [] };
  }
  if (failures < thresholds.failuresToDown) return { health: { ...health, failures, successes: 0 }, events: [] };
  const reason = kind === 'Probe' ? TrunkDownReason.PROBES_FAILING : TrunkDownReason.CALLS_FAILING;
  return {
    health: { ...health, state: TrunkHealthState.DOWN, reason, failures, successes: 0, since: now },
    events: health.registered ? [{ type: TrunkEventType.FAILOVER_STARTED, reason }] : [],
  };
}
