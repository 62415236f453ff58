import { expect } from 'chai';
import { crashLoopLength, DEFAULT_BACKOFF, restartDelayMs } from '../../../worker/edge/restart-policy';

describe('restart policy', () => {
  const backoff = { initialMs: 100, maxMs: 1_000, resetAfterMs: 60_000, noneReadyMaxMs: 250 };

  describe('restartDelayMs', () => {
    const rows: { crashes: number; anyOtherReady: boolean; delayMs: number; why: string }[] = [
      { crashes: 1, anyOtherReady: true, delayMs: 0, why: 'the first death restarts at once' },
      { crashes: 2, anyOtherReady: true, delayMs: 100, why: 'a crash loop starts at initialMs' },
      { crashes: 3, anyOtherReady: true, delayMs: 200, why: 'and doubles' },
      { crashes: 5, anyOtherReady: true, delayMs: 800, why: 'and doubles' },
      { crashes: 6, anyOtherReady: true, delayMs: 1_000, why: 'up to maxMs' },
      { crashes: 60, anyOtherReady: true, delayMs: 1_000, why: 'however long the loop' },
      { crashes: 1, anyOtherReady: false, delayMs: 0, why: 'at once with no other worker ready too' },
      { crashes: 2, anyOtherReady: false, delayMs: 100, why: 'below noneReadyMaxMs, unchanged' },
      { crashes: 3, anyOtherReady: false, delayMs: 200, why: 'below noneReadyMaxMs, unchanged' },
      { crashes: 4, anyOtherReady: false, delayMs: 250, why: 'no other worker ready: at most noneReadyMaxMs' },
      { crashes: 60, anyOtherReady: false, delayMs: 250, why: 'no other worker ready: at most noneReadyMaxMs' },
    ];
    for (const row of rows) {
      it(`${row.crashes} in a row, ${row.anyOtherReady ? 'another worker ready' : 'none other ready'}: ${row.delayMs} ms (${row.why})`, () => {
        expect(restartDelayMs(row.crashes, row.anyOtherReady, backoff)).to.equal(row.delayMs);
      });
    }
  });

  describe('crashLoopLength', () => {
    const rows: { previous: number; upMs: number | null; length: number; why: string }[] = [
      { previous: 0, upMs: 5, length: 1, why: 'the first death' },
      { previous: 3, upMs: 59_999, length: 4, why: 'died within resetAfterMs of ready: the loop goes on' },
      { previous: 3, upMs: 60_000, length: 1, why: 'stayed up resetAfterMs: out of the loop' },
      { previous: 3, upMs: null, length: 4, why: 'never became ready: the loop goes on' },
    ];
    for (const row of rows) {
      it(`${row.previous} before, up ${row.upMs ?? 'never ready'}: ${row.length} (${row.why})`, () => {
        expect(crashLoopLength(row.previous, row.upMs, backoff)).to.equal(row.length);
      });
    }
  });

  it('defaults: 100 ms doubling to 30 s, out of the loop after 60 s up, at most 1 s with no worker ready', () => {
    expect(DEFAULT_BACKOFF).to.deep.equal({ initialMs: 100, maxMs: 30_000, resetAfterMs: 60_000, noneReadyMaxMs: 1_000 });
  });
});
