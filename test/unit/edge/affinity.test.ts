import { expect } from 'chai';
import { Affinity, DEFAULT_IDLE_EXPIRY_MS } from '../../../worker/edge/affinity';

function setup(workers: number[] = [0, 1], idleExpiryMs?: number): { affinity: Affinity; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const affinity = new Affinity({ clock: () => clock.now, idleExpiryMs });
  for (const index of workers) affinity.addWorker(index);
  return { affinity, clock };
}

describe('Affinity', () => {
  it('a known Call-ID goes to its worker, a new one to the least loaded', () => {
    const { affinity } = setup();
    expect(affinity.assign('a')).to.equal(0);
    expect(affinity.assign('b')).to.equal(1);
    expect(affinity.assign('a')).to.equal(0);
    expect(affinity.assign('b')).to.equal(1);
    expect(affinity.assign('c')).to.equal(0);
    expect(affinity.size()).to.equal(3);
    expect(affinity.size(0)).to.equal(2);
  });

  it('load is the pins a worker holds; the reported live calls break ties, then the lower index', () => {
    const { affinity } = setup([3, 1, 2]);
    affinity.reportLoad(1, 5);
    affinity.reportLoad(2, 4);
    affinity.reportLoad(3, 4);
    // All hold nothing: 2 and 3 report fewer calls than 1, and 2 has the lower index.
    expect(affinity.assign('n1')).to.equal(2);
    // A burst before the next report spreads by pins.
    expect(['n2', 'n3', 'n4', 'n5', 'n6'].map((callId) => affinity.assign(callId))).to.deep.equal([3, 1, 2, 3, 1]);
    affinity.unpin(['n1', 'n4']);
    expect(affinity.assign('n7')).to.equal(2);
  });

  it('a draining worker keeps its Call-IDs but gets no new ones', () => {
    const { affinity } = setup();
    expect(affinity.assign('old')).to.equal(0);
    affinity.drainWorker(0);
    expect(affinity.assign('old')).to.equal(0);
    expect(affinity.assign('new1')).to.equal(1);
    expect(affinity.assign('new2')).to.equal(1);
  });

  it('no accepting worker: null, and nothing is pinned', () => {
    const { affinity } = setup([0]);
    affinity.drainWorker(0);
    expect(affinity.assign('x')).to.equal(null);
    expect(affinity.size()).to.equal(0);
    expect(setup([]).affinity.assign('x')).to.equal(null);
  });

  it('route: a pinned Call-ID goes to its worker; an unpinned one to a worker fixed by its hash, pinning nothing', () => {
    const { affinity } = setup([0, 1, 2]);
    expect(affinity.assign('call')).to.equal(0);
    expect(affinity.route('call')).to.equal(0);
    const strays = Array.from({ length: 3000 }, (_, k) => `stray-${k}@example.net`);
    const first = strays.map((callId) => affinity.route(callId));
    // Retransmissions of one transaction meet the same worker.
    expect(strays.map((callId) => affinity.route(callId))).to.deep.equal(first);
    expect(affinity.size()).to.equal(1);
    // Spread over every accepting worker, roughly evenly.
    for (const index of [0, 1, 2]) expect(first.filter((worker) => worker === index).length).to.be.within(800, 1200);
    affinity.drainWorker(2);
    expect(strays.map((callId) => affinity.route(callId))).to.not.include(2);
    affinity.dropWorker(0);
    affinity.drainWorker(1);
    expect(affinity.route('stray-0@example.net')).to.equal(null);
  });

  it('touch refreshes a pin of the worker that answers, and pins nothing new', () => {
    const { affinity, clock } = setup([0, 1], 1000);
    affinity.assign('call');
    clock.now += 900;
    affinity.touch('call', 1);
    affinity.touch('unpinned', 0);
    expect(affinity.sweep(clock.now + 200)).to.equal(1);
    affinity.assign('call');
    clock.now += 900;
    affinity.touch('call', 0);
    expect(affinity.sweep(clock.now + 200)).to.equal(0);
    expect(affinity.size()).to.equal(1);
  });

  it('pinOutgoing pins a Call-ID a worker creates; the first owner wins', () => {
    const { affinity } = setup();
    expect(affinity.pinOutgoing('leg-b', 1)).to.equal(true);
    expect(affinity.assign('leg-b')).to.equal(1);
    expect(affinity.pinOutgoing('leg-b', 0)).to.equal(false);
    expect(affinity.workerOf('leg-b')).to.equal(1);
    expect(affinity.pinOutgoing('x', 7)).to.equal(false);
  });

  it('unpin ends pins, only those of the unpinning worker when it is named', () => {
    const { affinity } = setup();
    affinity.assign('a');
    affinity.assign('b');
    expect(affinity.unpin(['a', 'b', 'unknown'], 0)).to.equal(1);
    expect(affinity.workerOf('a')).to.equal(undefined);
    expect(affinity.workerOf('b')).to.equal(1);
    expect(affinity.unpin(['b'])).to.equal(1);
    expect(affinity.size()).to.equal(0);
    expect(affinity.size(0)).to.equal(0);
    expect(affinity.size(1)).to.equal(0);
  });

  it('sweep removes pins idle longer than the expiry; traffic and keep refresh them', () => {
    const { affinity, clock } = setup([0, 1], 1000);
    affinity.assign('quiet');
    affinity.assign('busy');
    affinity.assign('kept');
    clock.now += 800;
    affinity.assign('busy');
    affinity.keep(['kept']);
    clock.now += 300;
    expect(affinity.sweep()).to.equal(1);
    expect(affinity.workerOf('quiet')).to.equal(undefined);
    expect(affinity.workerOf('busy')).to.not.equal(undefined);
    expect(affinity.sweep(clock.now + 1000)).to.equal(2);
    expect(affinity.size()).to.equal(0);
  });

  it('keep from another worker does not refresh a pin', () => {
    const { affinity, clock } = setup([0, 1], 1000);
    expect(affinity.assign('a')).to.equal(0);
    clock.now += 900;
    affinity.keep(['a'], 1);
    clock.now += 200;
    expect(affinity.sweep()).to.equal(1);
  });

  it('the default idle expiry is 15 minutes', () => {
    const { affinity, clock } = setup();
    affinity.assign('a');
    expect(DEFAULT_IDLE_EXPIRY_MS).to.equal(15 * 60_000);
    expect(affinity.sweep(clock.now + DEFAULT_IDLE_EXPIRY_MS)).to.equal(0);
    expect(affinity.sweep(clock.now + DEFAULT_IDLE_EXPIRY_MS + 1)).to.equal(1);
  });

  it('dropWorker removes a dead worker and its pins until it is added again', () => {
    const { affinity } = setup();
    affinity.assign('a');
    affinity.assign('b');
    affinity.assign('c');
    expect(affinity.dropWorker(0)).to.equal(2);
    expect(affinity.workerOf('a')).to.equal(undefined);
    expect(affinity.assign('a')).to.equal(1);
    expect(affinity.assign('d')).to.equal(1);
    affinity.addWorker(0);
    expect(affinity.assign('e')).to.equal(0);
  });

  it('acceptsNew follows every change of the accepting workers (its list is cached between changes)', () => {
    const { affinity } = setup([]);
    const seen: boolean[] = [affinity.acceptsNew()];
    affinity.addWorker(0);
    seen.push(affinity.acceptsNew());
    affinity.drainWorker(0);
    seen.push(affinity.acceptsNew());
    affinity.addWorker(1);
    seen.push(affinity.acceptsNew());
    affinity.dropWorker(1);
    seen.push(affinity.acceptsNew());
    affinity.addWorker(0);
    seen.push(affinity.acceptsNew(), affinity.assign('x') === 0);
    expect(seen).to.deep.equal([false, true, false, true, false, true, true]);
  });
});
