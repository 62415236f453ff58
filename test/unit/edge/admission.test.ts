import { expect } from 'chai';
import pino from 'pino';
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
  /** An EdgeLoad whose overload signal is `behind.now`. */
  function loadOf(): { load: EdgeLoad; behind: { now: boolean } } {
    const behind = { now: false };
    return { load: new EdgeLoad({ isOverloaded: () => behind.now }, null), behind };
  }
  const read = (load: EdgeLoad, total: number, refused: number): void => {
    for (let k = 0; k < total; k++) load.count(k < refused);
  };

  it('is overloaded the moment its signal says so, and normal again the moment it clears, with no sample', () => {
    const { load, behind } = loadOf();
    expect(load.pressure()).to.equal('normal');
    behind.now = true;
    expect(load.pressure()).to.equal('overloaded');
    read(load, 1000, 10);
    load.sample();
    expect(load.pressure()).to.equal('overloaded');
    behind.now = false;
    expect(load.pressure()).to.equal('normal');
  });

  it(`is flooded from a sample in which at least ${FLOOD_SHARE * 100} % of what it read was refused, at the limit and past it`, () => {
    const { load, behind } = loadOf();
    behind.now = true;
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

  it(`stays flooded ${FLOOD_HOLD_SAMPLES} samples after the last overloaded one, then is normal; real overload ends it at once`, () => {
    const { load, behind } = loadOf();
    behind.now = true;
    read(load, 1000, 1000);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
    behind.now = false;
    for (let k = 0; k < FLOOD_HOLD_SAMPLES; k++) {
      load.sample();
      expect(load.pressure(), `quiet sample ${k + 1}`).to.equal('flooded');
    }
    load.sample();
    expect(load.pressure()).to.equal('normal');
    behind.now = true;
    read(load, 1000, 1000);
    load.sample();
    expect(load.pressure()).to.equal('flooded');
    read(load, 1000, 0);
    load.sample();
    expect(load.pressure()).to.equal('overloaded');
  });

  it('is never under pressure while its signal is clear, however much is refused', () => {
    const { load } = loadOf();
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
    expect(refusals.counts).to.deep.equal({ 'untrusted-source': 10_000, 'no-worker': 1, 'edge-overload': 0, 'worker-overload': 0, 'no-dialog': 0 });
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
