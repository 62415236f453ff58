import { expect } from 'chai';
import {
  applyAll,
  applyEvidence,
  initialHealth,
  isPbxDown,
  TrunkDownReason,
  TrunkHealthState,
  type HealthEvidence,
  type TrunkHealth,
} from '../../../domain/trunk-health';

const T = { failuresToDown: 3, successesToUp: 2 };
const NOW = Date.UTC(2026, 11, 7, 12);
const probe = (ok: boolean): HealthEvidence => ({ kind: 'Probe', ok });
const call = (ok: boolean): HealthEvidence => ({ kind: 'Call', ok });
const trial = (ok: boolean): HealthEvidence => ({ kind: 'Trial', ok });
const registration = (registered: boolean): HealthEvidence => ({ kind: 'Registration', registered });
const up = (overrides: Partial<TrunkHealth> = {}): TrunkHealth => ({ ...initialHealth(true, 0), state: TrunkHealthState.UP, successes: 2, ...overrides });
const down = (reason: TrunkDownReason, overrides: Partial<TrunkHealth> = {}): TrunkHealth => ({ ...initialHealth(reason !== TrunkDownReason.NOT_REGISTERED, 0), state: TrunkHealthState.DOWN, reason, failures: 3, ...overrides });

describe('trunk health: thresholds with hysteresis, one event per transition', () => {
  const rows: { name: string; from: TrunkHealth; evidence: HealthEvidence[]; state: TrunkHealthState; reason?: TrunkDownReason | null; events: string[] }[] = [
    { name: 'unknown: a first success is UP, no event (no failover to end)', from: initialHealth(true, 0), evidence: [call(true)], state: TrunkHealthState.UP, events: [] },
    { name: 'unknown: failures below the threshold stay UNKNOWN', from: initialHealth(true, 0), evidence: [probe(false), probe(false)], state: TrunkHealthState.UNKNOWN, events: [] },
    { name: 'unknown: the third failure is DOWN with FAILOVER_STARTED', from: initialHealth(true, 0), evidence: [probe(false), probe(false), probe(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.PROBES_FAILING, events: ['FAILOVER_STARTED:PROBES_FAILING'] },
    { name: 'up: two failures then a success do not flap', from: up(), evidence: [probe(false), probe(false), probe(true), probe(false), probe(false)], state: TrunkHealthState.UP, events: [] },
    { name: 'up: three call failures in a row: DOWN (CALLS_FAILING)', from: up(), evidence: [call(false), call(false), call(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.CALLS_FAILING, events: ['FAILOVER_STARTED:CALLS_FAILING'] },
    { name: 'up: the kind of the failure that crosses the threshold names the reason', from: up(), evidence: [call(false), call(false), probe(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.PROBES_FAILING, events: ['FAILOVER_STARTED:PROBES_FAILING'] },
    { name: 'down: one success is not enough', from: down(TrunkDownReason.PROBES_FAILING), evidence: [probe(true)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.PROBES_FAILING, events: [] },
    { name: 'down: a failure between successes restarts the count', from: down(TrunkDownReason.PROBES_FAILING), evidence: [probe(true), probe(false), probe(true)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.PROBES_FAILING, events: [] },
    { name: 'down: two successes in a row: UP with FAILOVER_ENDED', from: down(TrunkDownReason.PROBES_FAILING), evidence: [probe(true), probe(true)], state: TrunkHealthState.UP, events: ['FAILOVER_ENDED'] },
    { name: 'down: more failures add no event', from: down(TrunkDownReason.CALLS_FAILING), evidence: [call(false), probe(false), call(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.CALLS_FAILING, events: [] },
    { name: 'down (passive): one trial success is UP at once', from: down(TrunkDownReason.CALLS_FAILING), evidence: [trial(true)], state: TrunkHealthState.UP, events: ['FAILOVER_ENDED'] },
    { name: 'down (passive): a failed trial keeps it DOWN', from: down(TrunkDownReason.CALLS_FAILING), evidence: [trial(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.CALLS_FAILING, events: [] },
    { name: 'up: losing the registration is DOWN (NOT_REGISTERED) with both events', from: up(), evidence: [registration(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.NOT_REGISTERED, events: ['REGISTRATION_LOST', 'FAILOVER_STARTED:NOT_REGISTERED'] },
    { name: 'unknown: losing the registration starts the failover too', from: initialHealth(true, 0), evidence: [registration(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.NOT_REGISTERED, events: ['REGISTRATION_LOST', 'FAILOVER_STARTED:NOT_REGISTERED'] },
    { name: 'down for calls: losing the registration is only REGISTRATION_LOST (already failing over)', from: down(TrunkDownReason.CALLS_FAILING), evidence: [registration(false)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.NOT_REGISTERED, events: ['REGISTRATION_LOST'] },
    { name: 'not registered: a binding again is UP with REGISTRATION_RESTORED and FAILOVER_ENDED', from: down(TrunkDownReason.NOT_REGISTERED), evidence: [registration(true)], state: TrunkHealthState.UP, events: ['REGISTRATION_RESTORED', 'FAILOVER_ENDED'] },
    { name: 'not registered: probe and call evidence change nothing', from: down(TrunkDownReason.NOT_REGISTERED), evidence: [probe(true), probe(true), call(true), trial(true)], state: TrunkHealthState.DOWN, reason: TrunkDownReason.NOT_REGISTERED, events: [] },
    { name: 'a new trunk\'s first registration: no event (nothing was lost)', from: initialHealth(false, 0), evidence: [registration(true)], state: TrunkHealthState.UNKNOWN, events: [] },
    { name: 'a refresh of a live registration changes nothing', from: up(), evidence: [registration(true)], state: TrunkHealthState.UP, events: [] },
    { name: 'down for probes, registration lost and back: UP, one failover ended', from: down(TrunkDownReason.PROBES_FAILING), evidence: [registration(false), registration(true)], state: TrunkHealthState.UP, events: ['REGISTRATION_LOST', 'REGISTRATION_RESTORED', 'FAILOVER_ENDED'] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { health, events } = applyAll(row.from, row.evidence, T, NOW);
      expect(health.state).to.equal(row.state);
      expect(health.reason).to.equal(row.reason ?? null);
      expect(events.map((event) => (event.reason === null ? event.type : `${event.type}:${event.reason}`))).to.deep.equal(row.events);
    });
  }

  it('thresholds of 1 go DOWN on the first failure and UP on the first success', () => {
    const one = { failuresToDown: 1, successesToUp: 1 };
    const fallen = applyEvidence(up(), probe(false), one, NOW).health;
    expect(fallen).to.include({ state: TrunkHealthState.DOWN, reason: TrunkDownReason.PROBES_FAILING, since: NOW });
    expect(applyEvidence(fallen, probe(true), one, NOW + 1).health).to.include({ state: TrunkHealthState.UP, reason: null, since: NOW + 1 });
  });

  it('thresholds of 10: nine failures stay UP, the tenth is DOWN', () => {
    const ten = { failuresToDown: 10, successesToUp: 10 };
    expect(applyAll(up(), Array.from({ length: 9 }, () => call(false)), ten, NOW).health.state).to.equal(TrunkHealthState.UP);
    expect(applyAll(up(), Array.from({ length: 10 }, () => call(false)), ten, NOW).health.state).to.equal(TrunkHealthState.DOWN);
  });

  it('returns the same object when a success finds the trunk up with nothing to reset: no write is needed', () => {
    const steady = up();
    expect(applyEvidence(steady, call(true), T, NOW).health).to.equal(steady);
    expect(applyEvidence(steady, registration(true), T, NOW).health).to.equal(steady);
  });

  it('keeps the counts bounded however long a state lasts', () => {
    const { health } = applyAll(down(TrunkDownReason.CALLS_FAILING), Array.from({ length: 1000 }, () => call(false)), T, NOW);
    expect(health.failures).to.equal(3);
  });

  it('PBX_DOWN applies while down for probes or calls, never for a lost registration (NOT_REGISTERED routes it)', () => {
    expect(isPbxDown(down(TrunkDownReason.PROBES_FAILING))).to.equal(true);
    expect(isPbxDown(down(TrunkDownReason.CALLS_FAILING))).to.equal(true);
    expect(isPbxDown(down(TrunkDownReason.NOT_REGISTERED))).to.equal(false);
    expect(isPbxDown(up())).to.equal(false);
    expect(isPbxDown(initialHealth(true, 0))).to.equal(false);
  });
});
