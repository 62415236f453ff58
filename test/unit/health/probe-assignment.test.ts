import { expect } from 'chai';
import { assignProbes, fairShare, listChanged, workerFor } from '../../../worker/health/probe-assignment';
import type { ProbeTarget } from '../../../worker/health/probe-target';

function target(n: number, overrides: Partial<ProbeTarget> = {}): ProbeTarget {
  const id = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  return { registrationId: id, trunkId: 'trunk', contact: `sip:pbx@192.0.2.${n % 250}:5060`, address: '192.0.2.9', port: 5060, intervalMs: 30_000, timeoutMs: 5_000, ...overrides };
}

describe('probe assignment: fair shares over nodes, a stable spread over workers', () => {
  const shares: [contacts: number, nodes: number, share: number][] = [
    [0, 1, 0],
    [0, 3, 0],
    [1, 1, 1],
    [1, 2, 1],
    [3, 2, 2],
    [4, 2, 2],
    [4, 3, 2],
    [10, 3, 4],
    [10, 10, 1],
    [10, 20, 1],
    // No node counted yet (this one's heartbeat not in): it takes all.
    [5, 0, 5],
  ];
  for (const [contacts, nodes, share] of shares) {
    it(`${contacts} bindings over ${nodes} nodes: at most ${share} each`, () => {
      expect(fairShare(contacts, nodes)).to.equal(share);
      // Every binding has a node when each takes its share.
      expect(share * Math.max(1, nodes)).to.be.at.least(contacts);
    });
  }

  it('spreads 1,000 bindings over 4 workers within 20% of even', () => {
    const lists = assignProbes(Array.from({ length: 1000 }, (_, n) => target(n)), [0, 1, 2, 3]);
    for (const list of lists.values()) expect(list.length).to.be.within(200, 300);
    expect([...lists.values()].reduce((sum, list) => sum + list.length, 0)).to.equal(1000);
  });

  it('a worker gone: only its bindings move, the others keep their worker', () => {
    const targets = Array.from({ length: 300 }, (_, n) => target(n));
    const before = new Map(targets.map((t) => [t.registrationId, workerFor(t.registrationId, [0, 1, 2])]));
    const after = new Map(targets.map((t) => [t.registrationId, workerFor(t.registrationId, [0, 2])]));
    let moved = 0;
    for (const t of targets) {
      const was = before.get(t.registrationId);
      const is = after.get(t.registrationId);
      expect(is).to.be.oneOf([0, 2]);
      if (was !== 1) expect(is).to.equal(was, 'a binding of a live worker stays');
      else moved++;
    }
    expect(moved).to.be.above(50);
    // It comes back: the same bindings return to it.
    for (const t of targets) expect(workerFor(t.registrationId, [0, 1, 2])).to.equal(before.get(t.registrationId));
  });

  it('one binding goes to one worker, none without workers; every ready worker gets a list', () => {
    expect(workerFor(target(1).registrationId, [])).to.equal(null);
    const lists = assignProbes([target(1)], [0, 1, 2]);
    expect([...lists.keys()].sort()).to.deep.equal([0, 1, 2]);
    expect([...lists.values()].filter((list) => list.length === 1)).to.have.length(1);
    expect(assignProbes([target(1)], []).size).to.equal(0);
  });

  it('a list changed when a binding comes, goes or moves, not when only reordered', () => {
    const a = target(1);
    const b = target(2);
    expect(listChanged(undefined, [])).to.equal(true);
    expect(listChanged([a, b], [b, a])).to.equal(false);
    expect(listChanged([a, b], [a])).to.equal(true);
    expect(listChanged([a], [b])).to.equal(true);
    expect(listChanged([a], [{ ...a, port: 5062 }])).to.equal(true);
    expect(listChanged([a], [{ ...a, intervalMs: 5_000 }])).to.equal(true);
  });
});
