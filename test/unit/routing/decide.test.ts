import { expect } from 'chai';
import { FailoverReason } from '../../../domain/call';
import { TrunkDownReason, TrunkHealthState } from '../../../domain/trunk-health';
import type { TrunkHealthView } from '../../../worker/config/snapshot';
import { decide, next } from '../../../worker/routing/decide';
import type { TrialView } from '../../../worker/health/trial-counter';
import type { AttemptOutcome, ChannelView, Route } from '../../../worker/routing/route';
import { binding, dialPlanConfig, snapshotOf, trunkConfig } from '../../support/snapshot';

const NOW = 1_500_000;
const DID = '+442079460001';
const channels = (active: number): ChannelView => ({ active: () => active });

/** A route reduced to what the tables assert. */
function shape(route: Route | null): Record<string, unknown> | null {
  if (route === null) return null;
  switch (route.kind) {
    case 'Deliver':
      return route.trial === true ? { kind: route.kind, binding: route.binding.id, trial: true } : { kind: route.kind, binding: route.binding.id };
    case 'Failover':
      return { kind: route.kind, failoverReason: route.failoverReason, pbxStatus: route.pbxStatus, dialPlan: route.dialPlan.id };
    case 'RunDialPlan':
      return { kind: route.kind, dialPlan: route.dialPlan.id };
    case 'Reject':
      return { kind: route.kind, status: route.status, failoverReason: route.failoverReason, relayPbxResponse: route.relayPbxResponse };
  }
}

/** A trial counter that answers `trial` and records what it was asked. */
const trialsOf = (trial: boolean, asked: string[] = []): TrialView => ({
  isTrial: (trunkId, since) => {
    asked.push(`${trunkId}@${since}`);
    return trial;
  },
});

const health = (state: TrunkHealthState, reason: TrunkDownReason | null): TrunkHealthView => ({ state, reason, registered: true, since: 0 });

describe('decide(): routing a new inbound call', () => {
  const registered = [binding()];
  const rows: { name: string; did?: string | null; parts?: Parameters<typeof snapshotOf>[0]; active?: number; trial?: boolean; expected: Record<string, unknown> }[] = [
    { name: 'registered, channels free: deliver to the binding', parts: { registrations: registered }, expected: { kind: 'Deliver', binding: 'reg-1' } },
    {
      name: 'the newest unexpired binding is used, expired ones skipped',
      parts: { registrations: [binding({ id: 'old', expiresAt: NOW - 1 }), binding({ id: 'live', expiresAt: NOW + 1 })] },
      expected: { kind: 'Deliver', binding: 'live' },
    },
    { name: 'unknown number: 404', did: '+442079469999', parts: { registrations: registered }, expected: { kind: 'Reject', status: 404, failoverReason: null, relayPbxResponse: false } },
    { name: 'not a number: 404', did: null, parts: { registrations: registered }, expected: { kind: 'Reject', status: 404, failoverReason: null, relayPbxResponse: false } },
    { name: 'not registered: fail over (NOT_REGISTERED)', parts: { registrations: [] }, expected: { kind: 'Failover', failoverReason: 'NOT_REGISTERED', pbxStatus: null, dialPlan: 'plan-1' } },
    {
      name: 'binding expired at this instant counts as not registered',
      parts: { registrations: [binding({ expiresAt: NOW })] },
      expected: { kind: 'Failover', failoverReason: 'NOT_REGISTERED', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: 'not registered, failover off: 404',
      parts: { trunks: [trunkConfig({ failover: { enabled: false } })] },
      expected: { kind: 'Reject', status: 404, failoverReason: 'NOT_REGISTERED', relayPbxResponse: false },
    },
    {
      name: 'not registered, failover on but its plan is gone: 404',
      parts: { dialPlans: [] },
      expected: { kind: 'Reject', status: 404, failoverReason: 'NOT_REGISTERED', relayPbxResponse: false },
    },
    {
      name: 'channels full: fail over without touching the PBX (CONCURRENCY_LIMIT)',
      parts: { registrations: registered },
      active: 2,
      expected: { kind: 'Failover', failoverReason: 'CONCURRENCY_LIMIT', pbxStatus: null, dialPlan: 'plan-1' },
    },
    { name: 'one channel left: deliver', parts: { registrations: registered }, active: 1, expected: { kind: 'Deliver', binding: 'reg-1' } },
    {
      name: 'channels full, failover off: 503',
      parts: { registrations: registered, trunks: [trunkConfig({ failover: { enabled: false } })] },
      active: 2,
      expected: { kind: 'Reject', status: 503, failoverReason: 'CONCURRENCY_LIMIT', relayPbxResponse: false },
    },
    {
      name: 'down for failing calls: fail over at once without touching the PBX (PBX_DOWN)',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING)]] },
      expected: { kind: 'Failover', failoverReason: 'PBX_DOWN', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: 'down for failing probes, failover off: 503 at once (PBX_DOWN)',
      parts: { registrations: registered, trunks: [trunkConfig({ failover: { enabled: false } })], health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.PROBES_FAILING)]] },
      expected: { kind: 'Reject', status: 503, failoverReason: 'PBX_DOWN', relayPbxResponse: false },
    },
    {
      name: 'PBX down wins over channels full',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.PROBES_FAILING)]] },
      active: 2,
      expected: { kind: 'Failover', failoverReason: 'PBX_DOWN', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: 'health still says NOT_REGISTERED but a binding is live: the binding decides, deliver',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.NOT_REGISTERED)]] },
      expected: { kind: 'Deliver', binding: 'reg-1' },
    },
    {
      name: 'down for failing calls, no probing, the counter says trial: deliver as a trial',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING)]] },
      trial: true,
      expected: { kind: 'Deliver', binding: 'reg-1', trial: true },
    },
    {
      name: 'down for failing probes, probing since turned off, the counter says trial: deliver as a trial',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.PROBES_FAILING)]] },
      trial: true,
      expected: { kind: 'Deliver', binding: 'reg-1', trial: true },
    },
    {
      name: 'down, probing on: never a trial (the probes bring it back), PBX_DOWN',
      parts: { registrations: registered, trunks: [trunkConfig({ healthCheck: { enabled: true } })], health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING)]] },
      trial: true,
      expected: { kind: 'Failover', failoverReason: 'PBX_DOWN', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: 'DOWN, no probing, every channel taken: PBX_DOWN (the trunk is down; the call could not be a trial anyway)',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING)]] },
      trial: true,
      active: 2,
      expected: { kind: 'Failover', failoverReason: 'PBX_DOWN', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: 'UP with the counter saying trial: a plain delivery (trials are only for DOWN trunks)',
      parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.UP, null)]] },
      trial: true,
      expected: { kind: 'Deliver', binding: 'reg-1' },
    },
    { name: 'health UP: deliver', parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.UP, null)]] }, expected: { kind: 'Deliver', binding: 'reg-1' } },
    { name: 'health UNKNOWN: deliver', parts: { registrations: registered, health: [['trunk-1', health(TrunkHealthState.UNKNOWN, null)]] }, expected: { kind: 'Deliver', binding: 'reg-1' } },
    {
      name: 'not registered wins over channels full',
      parts: { registrations: [] },
      active: 99,
      expected: { kind: 'Failover', failoverReason: 'NOT_REGISTERED', pbxStatus: null, dialPlan: 'plan-1' },
    },
    {
      name: "a dial plan's own number runs the plan",
      did: '+442079460002',
      parts: { dids: [['+442079460002', { kind: 'dialPlan', dialPlanId: 'plan-1' }]] },
      expected: { kind: 'RunDialPlan', dialPlan: 'plan-1' },
    },
    {
      name: "a dial plan's number whose plan is gone: 404",
      did: '+442079460002',
      parts: { dids: [['+442079460002', { kind: 'dialPlan', dialPlanId: 'gone' }]] },
      expected: { kind: 'Reject', status: 404, failoverReason: null, relayPbxResponse: false },
    },
    {
      name: 'a number whose trunk is gone: 404',
      parts: { dids: [[DID, { kind: 'trunk', trunkId: 'gone' }]] },
      expected: { kind: 'Reject', status: 404, failoverReason: null, relayPbxResponse: false },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const route = decide({ did: row.did === undefined ? DID : row.did }, snapshotOf(row.parts), NOW, channels(row.active ?? 0), trialsOf(row.trial ?? false));
      expect(shape(route)).to.deep.equal(row.expected);
    });
  }

  it('counts calls to a DOWN trunk in its DOWN period (the health since), and only those', () => {
    const asked: string[] = [];
    const down = snapshotOf({ registrations: registered, health: [['trunk-1', { ...health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING), since: 42 }]] });
    decide({ did: DID }, down, NOW, channels(0), trialsOf(false, asked));
    decide({ did: DID }, snapshotOf({ registrations: registered }), NOW, channels(0), trialsOf(false, asked));
    expect(asked).to.deep.equal(['trunk-1@42']);
  });

  it('a call to a DOWN trunk with every channel taken spends no trial: the next call that can be delivered is the trial', () => {
    const asked: string[] = [];
    const down = snapshotOf({ registrations: registered, health: [['trunk-1', { ...health(TrunkHealthState.DOWN, TrunkDownReason.CALLS_FAILING), since: 42 }]] });
    decide({ did: DID }, down, NOW, channels(2), trialsOf(true, asked));
    expect(asked).to.deep.equal([]);
    expect(shape(decide({ did: DID }, down, NOW, channels(1), trialsOf(true, asked)))).to.deep.equal({ kind: 'Deliver', binding: 'reg-1', trial: true });
  });
});

describe('next(): after the attempt to deliver', () => {
  const snapshot = snapshotOf({ registrations: [binding()] });
  const deliver = decide({ did: DID }, snapshot, NOW, channels(0));
  if (deliver.kind !== 'Deliver') throw new Error('fixture must deliver');
  const only503 = snapshotOf({ registrations: [binding()], trunks: [trunkConfig({ failover: { triggerStatusCodes: new Set([503]) } })] });
  const deliverOnly503 = decide({ did: DID }, only503, NOW, channels(0));
  if (deliverOnly503.kind !== 'Deliver') throw new Error('fixture must deliver');
  const off = snapshotOf({ registrations: [binding()], trunks: [trunkConfig({ failover: { enabled: false } })] });
  const deliverOff = decide({ did: DID }, off, NOW, channels(0));
  if (deliverOff.kind !== 'Deliver') throw new Error('fixture must deliver');

  const failover = (reason: FailoverReason, pbxStatus: number | null = null) => ({ kind: 'Failover', failoverReason: reason, pbxStatus, dialPlan: 'plan-1' });
  const rows: { name: string; outcome: AttemptOutcome; variant?: 'only503' | 'off'; expected: Record<string, unknown> | null }[] = [
    { name: '200: relayed, never failed over', outcome: { kind: 'Answered', status: 200 }, expected: null },
    { name: 'caller cancelled: relayed (487), never failed over', outcome: { kind: 'CallerCancelled' }, expected: null },
    { name: 'ring timeout after a 1xx: not a trigger', outcome: { kind: 'RingTimeout' }, expected: null },
    { name: '503: fail over (PBX_SERVER_ERROR)', outcome: { kind: 'Final', status: 503 }, expected: failover(FailoverReason.PBX_SERVER_ERROR, 503) },
    { name: '500: fail over', outcome: { kind: 'Final', status: 500 }, expected: failover(FailoverReason.PBX_SERVER_ERROR, 500) },
    { name: '599: fail over', outcome: { kind: 'Final', status: 599 }, expected: failover(FailoverReason.PBX_SERVER_ERROR, 599) },
    { name: '500 when only 503 triggers: relayed', variant: 'only503', outcome: { kind: 'Final', status: 500 }, expected: null },
    { name: '503 when only 503 triggers: fail over', variant: 'only503', outcome: { kind: 'Final', status: 503 }, expected: failover(FailoverReason.PBX_SERVER_ERROR, 503) },
    { name: '302 redirect: relayed', outcome: { kind: 'Final', status: 302 }, expected: null },
    { name: '404 unknown number at the PBX: relayed', outcome: { kind: 'Final', status: 404 }, expected: null },
    { name: '486 busy: relayed', outcome: { kind: 'Final', status: 486 }, expected: null },
    { name: '487 (the PBX saw a cancel): relayed', outcome: { kind: 'Final', status: 487 }, expected: null },
    { name: '408 from the PBX: relayed', outcome: { kind: 'Final', status: 408 }, expected: null },
    { name: '603 decline: relayed', outcome: { kind: 'Final', status: 603 }, expected: null },
    { name: '600 busy everywhere: relayed', outcome: { kind: 'Final', status: 600 }, expected: null },
    { name: 'no 1xx in time: fail over (NO_PROVISIONAL_RESPONSE)', outcome: { kind: 'NoProvisionalResponse' }, expected: failover(FailoverReason.NO_PROVISIONAL_RESPONSE) },
    { name: 'unreachable: fail over (PBX_UNREACHABLE)', outcome: { kind: 'Unreachable', code: 'EHOSTUNREACH' }, expected: failover(FailoverReason.PBX_UNREACHABLE) },
    { name: 'lost the last channel to another worker: fail over (CONCURRENCY_LIMIT)', outcome: { kind: 'ChannelsFull' }, expected: failover(FailoverReason.CONCURRENCY_LIMIT) },
    { name: "failover off, 503: the caller gets that 503, the PBX's own response", variant: 'off', outcome: { kind: 'Final', status: 503 }, expected: { kind: 'Reject', status: 503, failoverReason: 'PBX_SERVER_ERROR', relayPbxResponse: true } },
    { name: 'failover off, no 1xx: 408', variant: 'off', outcome: { kind: 'NoProvisionalResponse' }, expected: { kind: 'Reject', status: 408, failoverReason: 'NO_PROVISIONAL_RESPONSE', relayPbxResponse: false } },
    { name: 'failover off, unreachable: 503', variant: 'off', outcome: { kind: 'Unreachable', code: 'EINVAL' }, expected: { kind: 'Reject', status: 503, failoverReason: 'PBX_UNREACHABLE', relayPbxResponse: false } },
    { name: 'failover off, channels full: 503', variant: 'off', outcome: { kind: 'ChannelsFull' }, expected: { kind: 'Reject', status: 503, failoverReason: 'CONCURRENCY_LIMIT', relayPbxResponse: false } },
    { name: 'failover off, 486: relayed', variant: 'off', outcome: { kind: 'Final', status: 486 }, expected: null },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const [route, snap] = row.variant === 'only503' ? [deliverOnly503, only503] : row.variant === 'off' ? [deliverOff, off] : [deliver, snapshot];
      expect(shape(next(route, row.outcome, snap))).to.deep.equal(row.expected);
    });
  }

  it('gives every FailoverReason a row above', () => {
    const covered = new Set(rows.flatMap((row) => (row.expected !== null && row.expected.kind === 'Failover' ? [row.expected.failoverReason] : [])));
    const decided = ['NOT_REGISTERED', 'CONCURRENCY_LIMIT', 'PBX_DOWN'];
    expect([...new Set([...covered, ...decided])].sort()).to.deep.equal(Object.values(FailoverReason).sort());
  });

  it('uses the dial plan of the snapshot it is given', () => {
    const renamed = snapshotOf({ registrations: [binding()], dialPlans: [dialPlanConfig({ name: 'Renamed' })] });
    const route = next(deliver, { kind: 'Final', status: 503 }, renamed);
    expect(route?.kind === 'Failover' && route.dialPlan.name).to.equal('Renamed');
  });
});
