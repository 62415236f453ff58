import { expect } from 'chai';
import type { EventLoopUtilization } from 'node:perf_hooks';
import pino from 'pino';
import { LoadGuard } from '../../../worker/calls/load-guard';
import { EdgeAdmission } from '../../../worker/edge/admission';
import { EdgeLoad, FLOOD_HOLD_SAMPLES, FLOOD_SHARE } from '../../../worker/edge/edge-load';
import { REFUSAL_LOG_INTERVAL_MS, Refusals } from '../../../worker/edge/refusals';

describe('edge admission', () => {
  it('judges nothing until it knows the carriers: every INVITE goes on to a worker', () => {
    expect(new EdgeAdmission().judge('203.0.113.1')).to.equal('unknown');
  });

  const admission = new EdgeAdmission();
  admission.update(['198.51.100.0/24', '203.0.113.7/32', '2001:db8:a::/48']);
  const rows: { address: string; verdict: 'carrier' | 'stranger' }[] = [
    { address: '198.51.100.0', verdict: 'carrier' },
    { address: '198.51.100.255', verdict: 'carrier' },
    { address: '198.51.101.0', verdict: 'stranger' },
    { address: '203.0.113.7', verdict: 'carrier' },
    { address: '203.0.113.8', verdict: 'stranger' },
    { address: '::ffff:198.51.100.9', verdict: 'carrier' },
    { address: '2001:db8:a:ffff::1', verdict: 'carrier' },
    { address: '2001:db8:b::1', verdict: 'stranger' },
    { address: '127.0.0.1', verdict: 'stranger' },
    { address: 'not-an-address', verdict: 'stranger' },
    { address: '', verdict: 'stranger' },
  ];
  for (const row of rows) {
    it(`${row.address || '(empty)'}: ${row.verdict}`, () => {
      expect(admission.judge(row.address)).to.equal(row.verdict);
    });
  }

  it('takes the latest list whole, and an empty list admits no one', () => {
    const latest = new EdgeAdmission();
    expect(latest.sourceCidrCount()).to.equal(null);
    latest.update(['192.0.2.0/24', '192.0.2.128/25']);
    latest.update(['198.51.100.1/32']);
    expect(latest.judge('192.0.2.1')).to.equal('stranger');
    expect(latest.judge('198.51.100.1')).to.equal('carrier');
    expect(latest.sourceCidrCount()).to.equal(1);
    latest.update([]);
    expect(latest.judge('198.51.100.1')).to.equal('stranger');
    expect(latest.sourceCidrCount()).to.equal(0);
  });
});

describe('edge load', () => {
  /** An EdgeLoad whose loop reports the given utilisation, one value per sample. */
  function loadOf(busy: number[]): EdgeLoad {
    let call = 0;
    return new EdgeLoad(
      new LoadGuard(0.98, (previous: EventLoopUtilization | undefined) => ({
        sample: { idle: 0, active: call, utilization: 0 },
        utilization: previous === undefined ? 0 : busy[call++],
      })),
    );
  }
  const read = (load: EdgeLoad, total: number, refused: number): void => {
    for (let k = 0; k < total; k++) load.count(k < refused);
  };

  it('is overloaded when its loop is saturated by real traffic, and normal again when it is not', () => {
    const load = loadOf([0.99, 0.99, 0.5]);
    load.sample();
    read(load, 1000, 10);
    load.sample();
    expect(load.pressure()).to.equal('normal');
    read(load, 1000, 10);
    load.sample();
    expect(load.pressure()).to.equal('overloaded');
    read(load, 1000, 10);
    load.sample();
    expect(load.pressure()).to.equal('normal');
  });

  it(`is flooded when at least ${FLOOD_SHARE * 100} % of what it read was refused, at the limit and past it`, () => {
    const load = loadOf([0.99, 0.99, 0.99, 0.99]);
    load.sample();
    read(load, 1000, 1000);
    load.sample();
    read(load, 1000, 499);
    load.sample();
    expect(load.pressure()).to.equal('overloaded');
    read(load, 1000, 500);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
    read(load, 1000, 999);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
  });

  it(`stays flooded ${FLOOD_HOLD_SAMPLES} samples after the last saturated one, then is normal; real overload ends it at once`, () => {
    const load = loadOf([0.99, 0.99, ...Array<number>(FLOOD_HOLD_SAMPLES + 1).fill(0.5), 0.99, 0.99, 0.99]);
    load.sample();
    read(load, 1000, 1000);
    load.sample();
    read(load, 1000, 1000);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
    for (let k = 0; k < FLOOD_HOLD_SAMPLES; k++) {
      load.sample();
      expect(load.pressure(), `quiet sample ${k + 1}`).to.equal('flooded');
    }
    load.sample();
    expect(load.pressure()).to.equal('normal');
    load.sample();
    read(load, 1000, 1000);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
    read(load, 1000, 0);
    load.sample();
    expect(load.pressure()).to.equal('overloaded');
  });

  it('is never under pressure while its loop has room, however much is refused', () => {
    const load = loadOf([0.9, 0.9, 0.9]);
    load.sample();
    for (let k = 0; k < 3; k++) {
      read(load, 10_000, 10_000);
      load.sample();
      expect(load.pressure()).to.equal('normal');
    }
  });
});

describe('edge refusals', () => {
  function refusalsWithClock(): { refusals: Refusals; lines: Record<string, unknown>[]; advance: (ms: number) => void } {
    let now = 1_000_000;
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { refusals: new Refusals(logger, () => now), lines, advance: (ms) => (now += ms) };
  }

  it(`counts every refusal but logs at most one line per reason per ${REFUSAL_LOG_INTERVAL_MS / 1000} s, with the count since the last`, () => {
    const { refusals, lines, advance } = refusalsWithClock();
    for (let k = 0; k < 10_000; k++) refusals.note('untrusted-source', '203.0.113.9', 5060, k % 2 === 0);
    refusals.note('no-worker', '198.51.100.1', 5060, true);
    expect(refusals.counts).to.deep.equal({ 'untrusted-source': 10_000, 'no-worker': 1, 'edge-overload': 0, 'no-dialog': 0 });
    expect(refusals.unanswered).to.equal(5_000);
    expect(lines.map((line) => [line.reason, line.count])).to.deep.equal([
      ['untrusted-source', 1],
      ['no-worker', 1],
    ]);
    advance(REFUSAL_LOG_INTERVAL_MS - 1);
    refusals.note('untrusted-source', '203.0.113.9', 5060, true);
    expect(lines).to.have.length(2, 'still inside the interval');
    advance(1);
    refusals.note('untrusted-source', '203.0.113.9', 5061, true);
    expect(lines).to.have.length(3);
    expect(lines[2]).to.include({ reason: 'untrusted-source', count: 10_001, lastSource: '203.0.113.9:5061', total: 10_002, sinceMs: REFUSAL_LOG_INTERVAL_MS });
  });

  it('flushes a count left waiting when the refusals stop', () => {
    const { refusals, lines, advance } = refusalsWithClock();
    refusals.note('edge-overload', '198.51.100.1', 5060, true);
    refusals.note('edge-overload', '198.51.100.1', 5060, true);
    advance(REFUSAL_LOG_INTERVAL_MS);
    refusals.flush();
    refusals.flush();
    expect(lines.map((line) => [line.reason, line.count])).to.deep.equal([
      ['edge-overload', 1],
      ['edge-overload', 1],
    ]);
  });
});
