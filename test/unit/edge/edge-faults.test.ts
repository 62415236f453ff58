import { expect } from 'chai';
import pino from 'pino';
import { EDGE_FAULT_LOG_INTERVAL_MS, EdgeFaults } from '../../../worker/edge/edge-faults';

describe('edge faults', () => {
  function faultsWithClock(): { faults: EdgeFaults; lines: Record<string, unknown>[]; advance: (ms: number) => void } {
    let now = 1_000_000;
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { faults: new EdgeFaults(logger, () => now), lines, advance: (ms) => (now += ms) };
  }
  /** Errors thrown at two different places in the code: two kinds. */
  const atOnePlace = (): Error => new TypeError('one place');
  const atAnother = (): Error => new TypeError('another place');

  it(`counts every fault and logs each kind at most once per ${EDGE_FAULT_LOG_INTERVAL_MS / 1000} s, with the count since its last line`, () => {
    const { faults, lines, advance } = faultsWithClock();
    for (let k = 0; k < 1_000; k++) faults.contain('datagram', atOnePlace());
    faults.contain('datagram', atAnother());
    faults.contain('worker-message', atOnePlace());
    faults.contain('datagram', 'not an Error');
    expect(faults.count).to.equal(1_003);
    expect(lines.map((line) => [line.place, line.count, (line.err as { message?: string } | undefined)?.message])).to.deep.equal([
      ['datagram', 1, 'one place'],
      ['datagram', 1, 'another place'],
      ['worker-message', 1, 'one place'],
      ['datagram', 1, undefined],
    ]);
    advance(EDGE_FAULT_LOG_INTERVAL_MS - 1);
    faults.contain('datagram', atOnePlace());
    expect(lines).to.have.length(4);
    advance(1);
    faults.contain('datagram', atOnePlace());
    expect(lines.slice(4).map((line) => [line.place, line.count, line.total])).to.deep.equal([['datagram', 1_001, 1_005]]);
  });

  it('remembers a bounded number of kinds: past it, new kinds are counted, not logged', () => {
    const { faults, lines } = faultsWithClock();
    for (let k = 0; k < 150; k++) {
      const error = new Error('generated');
      error.stack = `Error: generated\n    at site${k} (file.js:${k}:1)`;
      faults.contain('datagram', error);
    }
    expect(faults.count).to.equal(150);
    expect(lines).to.have.length(100);
  });
});
