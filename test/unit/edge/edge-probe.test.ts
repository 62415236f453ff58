import { expect } from 'chai';
import pino from 'pino';
import { SOJOURN_CEILING_MS, SOJOURN_INTERVAL_MS, SOJOURN_TARGET_MS, SojournGuard } from '../../../worker/calls/sojourn-guard';
import { EdgeProbe, PROBE_QUIET_MS, selfAddress } from '../../../worker/edge/edge-probe';

function setup() {
  let now = 1_000;
  const sent: { bytes: Buffer; port: number; address: string }[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const probe = new EdgeProbe((bytes, port, address) => sent.push({ bytes, port, address }), '127.0.0.1', 5060, logger, new SojournGuard({ quietMs: PROBE_QUIET_MS }), () => now);
  return { probe, sent, lines, advance: (ms: number) => (now += ms) };
}

describe('edge probe', () => {
  it('sends itself a probe only on a tick after traffic came in', () => {
    const { probe, sent } = setup();
    probe.tick();
    expect(sent).to.have.length(0);
    probe.noteTraffic();
    probe.noteTraffic();
    probe.tick();
    probe.tick();
    expect(sent.map((datagram) => [datagram.address, datagram.port])).to.deep.equal([['127.0.0.1', 5060]]);
    expect(sent[0].bytes[0]).to.equal(0);
  });

  it('takes its own probes back and observes how long each waited; anything else is not a probe', () => {
    const { probe, sent, advance } = setup();
    probe.noteTraffic();
    probe.tick();
    advance(12.5);
    const [own] = sent;
    const forged = Buffer.from(own.bytes);
    forged[5] ^= 0xff;
    expect(probe.take(forged)).to.equal(false);
    expect(probe.take(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'))).to.equal(false);
    expect(probe.take(Buffer.alloc(own.bytes.length))).to.equal(false);
    expect(probe.take(own.bytes.subarray(0, own.bytes.length - 1))).to.equal(false);
    expect(probe.take(own.bytes)).to.equal(true);
    expect(probe.stats()).to.deep.equal({ overloads: 0, lastSojournMs: 12.5, probesSent: 1, probesReturned: 1 });
  });

  it('is overloaded once its probes wait above target for an interval, and not when one comes back in time', () => {
    const { probe, sent, advance } = setup();
    const roundTrip = (waitMs: number): void => {
      probe.noteTraffic();
      probe.tick();
      advance(waitMs);
      probe.take(sent[sent.length - 1].bytes);
    };
    const wait = SOJOURN_TARGET_MS + 1;
    roundTrip(wait);
    // The next comes back 1 ms before an interval has passed since the first did.
    advance(SOJOURN_INTERVAL_MS - wait - 1);
    roundTrip(wait);
    expect(probe.guard.isOverloaded()).to.equal(false);
    roundTrip(wait);
    expect(probe.guard.isOverloaded()).to.equal(true);
    roundTrip(SOJOURN_TARGET_MS);
    expect(probe.guard.isOverloaded()).to.equal(false);
  });

  it(`is no longer overloaded once no probe came back for ${PROBE_QUIET_MS} ms`, () => {
    const { probe, sent, advance } = setup();
    for (let k = 0; k < 3; k++) {
      probe.noteTraffic();
      probe.tick();
      advance(SOJOURN_CEILING_MS + 1);
      probe.take(sent[sent.length - 1].bytes);
    }
    expect(probe.guard.isOverloaded()).to.equal(true);
    advance(PROBE_QUIET_MS);
    probe.tick();
    expect(probe.guard.isOverloaded()).to.equal(true);
    advance(1);
    probe.tick();
    expect(probe.guard.isOverloaded()).to.equal(false);
  });

  it('warns once when its probes never come back: the edge then has no overload signal', () => {
    const { probe, lines } = setup();
    for (let k = 0; k < 600; k++) {
      probe.noteTraffic();
      probe.tick();
    }
    expect(lines.map((line) => line.msg)).to.deep.equal(['no edge probe came back: the edge cannot see its own overload and will not shed on it']);
    expect(probe.guard.isOverloaded()).to.equal(false);
  });

  for (const [bound, reached] of [['0.0.0.0', '127.0.0.1'], ['::', '::1'], ['192.0.2.10', '192.0.2.10'], ['127.0.0.1', '127.0.0.1']]) {
    it(`a socket bound to ${bound} is reached at ${reached}`, () => {
      expect(selfAddress(bound)).to.equal(reached);
    });
  }
});
