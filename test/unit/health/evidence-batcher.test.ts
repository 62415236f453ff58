import { expect } from 'chai';
import pino from 'pino';
import type { HealthEvidence } from '../../../domain/trunk-health';
import { EVIDENCE_BATCH_MS, EvidenceBatcher } from '../../../worker/health/evidence-batcher';
import type { AppliedEvidence } from '../../../worker/health/health-store';
import { FakeClock } from '../../support/fakes';

const call = (ok: boolean): HealthEvidence => ({ kind: 'Call', ok });

/** A store whose writes finish only when the test says. */
class HeldStore {
  readonly applied: { trunkId: string; evidence: readonly HealthEvidence[] }[] = [];
  private releases: (() => void)[] = [];

  apply(trunkId: string, evidence: readonly HealthEvidence[]): Promise<AppliedEvidence | null> {
    this.applied.push({ trunkId, evidence });
    return new Promise((resolve) => this.releases.push(() => resolve(null)));
  }

  known(): undefined {
    return undefined;
  }

  releaseAll(): void {
    const releases = this.releases;
    this.releases = [];
    for (const release of releases) release();
  }
}

describe('evidence batcher: one batch in flight per trunk, order kept, stop waits for the writes', () => {
  it('batches per trunk each interval, holds what comes while a batch is in flight, and sends it after', async () => {
    const clock = new FakeClock();
    const store = new HeldStore();
    const batcher = new EvidenceBatcher({ store, clock, logger: pino({ level: 'silent' }), onLocalView: () => undefined });
    batcher.add('t1', call(false));
    batcher.add('t1', call(true));
    batcher.add('t2', call(false));
    clock.advance(EVIDENCE_BATCH_MS);
    expect(store.applied.map((entry) => [entry.trunkId, entry.evidence.length])).to.deep.equal([['t1', 2], ['t2', 1]]);
    batcher.add('t1', call(false));
    clock.advance(EVIDENCE_BATCH_MS);
    expect(store.applied, 't1 still in flight: its new evidence waits').to.have.length(2);
    store.releaseAll();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(EVIDENCE_BATCH_MS);
    expect(store.applied.map((entry) => [entry.trunkId, entry.evidence])).to.deep.equal([['t1', [call(false), call(true)]], ['t2', [call(false)]], ['t1', [call(false)]]]);
    store.releaseAll();
    await batcher.stop();
  });

  it('stop while a batch is in flight resolves once it and the evidence held behind it are written', async () => {
    const clock = new FakeClock();
    const store = new HeldStore();
    const batcher = new EvidenceBatcher({ store, clock, logger: pino({ level: 'silent' }), onLocalView: () => undefined });
    batcher.add('t1', call(false));
    clock.advance(EVIDENCE_BATCH_MS);
    batcher.add('t1', call(true));
    let stopped = false;
    const stopping = batcher.stop().then(() => {
      stopped = true;
    });
    // The event loop turns while the write is out: before, stop spun on resolved promises and starved it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).to.equal(false);
    store.releaseAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.applied.map((entry) => entry.evidence)).to.deep.equal([[call(false)], [call(true)]]);
    expect(stopped, 'the held evidence is in flight now').to.equal(false);
    store.releaseAll();
    await stopping;
    expect(batcher.stats()).to.deep.include({ batches: 2, failed: 0 });
  });
});
