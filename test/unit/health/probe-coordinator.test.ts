import { expect } from 'chai';
import pino from 'pino';
import type { ControlMessage } from '../../../worker/edge/protocol';
import { LEASE_MARGIN_MS, ProbeCoordinator } from '../../../worker/health/probe-coordinator';
import type { ClaimResult, LeasedBinding } from '../../../worker/health/probe-leases';
import { isProbeTargetsMessage, type ProbeTarget } from '../../../worker/health/probe-target';

const LEASE_MS = 10_000;

function binding(n: number, intervalSeconds = 30): LeasedBinding {
  return { registrationId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`, trunkId: 'trunk', contact: `sip:pbx${n}@10.0.0.1`, address: '192.0.2.7', port: 5060 + n, intervalSeconds };
}

/** Leases the test hands out, and workers that record the last list each was sent. */
function setup() {
  let time = 0;
  let held: LeasedBinding[] = [];
  let failing = false;
  let releases = 0;
  const ready = new Set([0, 1, 2]);
  const lists = new Map<number, readonly ProbeTarget[]>();
  const messages: number[] = [];
  const coordinator = new ProbeCoordinator({
    leases: {
      claim: (): Promise<ClaimResult> => (failing ? Promise.reject(new Error('database away')) : Promise.resolve({ held, nodes: 1, contacts: held.length, share: held.length })),
      release: () => {
        releases++;
        return Promise.resolve();
      },
    },
    workers: {
      readyWorkers: () => [...ready].sort(),
      send: (index: number, message: ControlMessage) => {
        if (!isProbeTargetsMessage(message.payload)) throw new Error('not a probe-targets message');
        messages.push(index);
        lists.set(index, message.payload.targets);
        return true;
      },
    },
    now: () => time,
    logger: pino({ level: 'silent' }),
    leaseMs: LEASE_MS,
  });
  const owners = () => {
    const owner = new Map<string, number[]>();
    for (const [index, list] of lists) for (const target of list) owner.set(target.registrationId, [...(owner.get(target.registrationId) ?? []), index]);
    return owner;
  };
  return {
    coordinator,
    lists,
    messages,
    owners,
    ready,
    advance: (ms: number) => (time += ms),
    hold: (bindings: LeasedBinding[]) => (held = bindings),
    fail: (on: boolean) => (failing = on),
    releases: () => releases,
  };
}

describe('ProbeCoordinator: leased bindings spread over workers, each probed by one', () => {
  it('gives every held binding to exactly one ready worker, with interval and min(5 s, interval) timeout', async () => {
    const t = setup();
    t.hold([binding(1), binding(2, 5), binding(3, 3), binding(4), binding(5), binding(6)]);
    await t.coordinator.tick();
    const owners = t.owners();
    expect(owners.size).to.equal(6);
    for (const indexes of owners.values()) expect(indexes).to.have.length(1);
    const all = [...t.lists.values()].flat();
    expect(all.find((target) => target.registrationId === binding(1).registrationId)).to.include({ intervalMs: 30_000, timeoutMs: 5_000, address: '192.0.2.7', port: 5061 });
    expect(all.find((target) => target.registrationId === binding(3).registrationId)).to.include({ intervalMs: 3_000, timeoutMs: 3_000 });
  });

  it('sends a worker its list only when it changed', async () => {
    const t = setup();
    t.hold([binding(1), binding(2)]);
    await t.coordinator.tick();
    const sent = t.messages.length;
    await t.coordinator.tick();
    await t.coordinator.tick();
    expect(t.messages.length).to.equal(sent);
    t.hold([binding(1), binding(2), binding(3)]);
    await t.coordinator.tick();
    expect(t.messages.length).to.equal(sent + 1);
  });

  it('a worker gone: its bindings move to the others at once; back: they return', async () => {
    const t = setup();
    t.hold(Array.from({ length: 30 }, (_, n) => binding(n)));
    await t.coordinator.tick();
    const onOne = (t.lists.get(1) ?? []).map((target) => target.registrationId);
    expect(onOne.length).to.be.above(0);
    t.ready.delete(1);
    // Its thread is gone, and the list it had with it.
    t.lists.delete(1);
    t.coordinator.workersChanged(1, true);
    const owners = t.owners();
    for (const registrationId of onOne) expect(owners.get(registrationId)).to.satisfy((indexes: number[]) => indexes.length === 1 && indexes[0] !== 1);
    expect(owners.size).to.equal(30);
    t.ready.add(1);
    t.coordinator.workersChanged(1, true);
    expect((t.lists.get(1) ?? []).map((target) => target.registrationId)).to.deep.equal(onOne);
    for (const indexes of t.owners().values()) expect(indexes).to.have.length(1);
  });

  it('a draining worker is told to stop probing (an empty list)', async () => {
    const t = setup();
    t.hold(Array.from({ length: 30 }, (_, n) => binding(n)));
    await t.coordinator.tick();
    t.ready.delete(2);
    t.coordinator.workersChanged(2, false);
    expect(t.lists.get(2)).to.deep.equal([]);
    for (const indexes of t.owners().values()) expect(indexes).to.have.length(1);
    expect(t.owners().size).to.equal(30);
  });

  it('stops probing before a lease could lapse when renewals fail, and resumes when they succeed', async () => {
    const t = setup();
    t.hold([binding(1), binding(2)]);
    await t.coordinator.tick();
    t.fail(true);
    for (let elapsed = 1000; elapsed < LEASE_MS - LEASE_MARGIN_MS; elapsed += 1000) {
      t.advance(1000);
      await t.coordinator.tick();
      expect(t.owners().size).to.equal(2, `still probing ${elapsed} ms after the last renewal`);
    }
    t.advance(1000);
    await t.coordinator.tick();
    expect(t.owners().size).to.equal(0, 'paused before the lease lapses');
    t.fail(false);
    t.advance(1000);
    await t.coordinator.tick();
    expect(t.owners().size).to.equal(2);
  });

  it('with no ready worker, gives its leases back; stop empties every list and releases', async () => {
    const t = setup();
    t.hold([binding(1)]);
    await t.coordinator.tick();
    t.ready.clear();
    t.lists.clear();
    t.coordinator.workersChanged(0, true);
    await t.coordinator.tick();
    expect(t.releases()).to.equal(1);
    t.ready.add(0);
    await t.coordinator.tick();
    expect(t.owners().size).to.equal(1);
    await t.coordinator.stop();
    expect(t.owners().size).to.equal(0);
    expect(t.releases()).to.equal(2);
  });
});
