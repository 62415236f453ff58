import { expect } from 'chai';
import { Prober, type ProbeResult } from '../../../worker/health/prober';
import type { ProbeTarget } from '../../../worker/health/probe-target';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const TARGET: ProbeTarget = {
  registrationId: '00000000-0000-4000-8000-000000000001',
  trunkId: '00000000-0000-4000-8000-0000000000a1',
  contact: 'sip:pbx@10.0.0.5:5060;transport=udp',
  address: '203.0.113.7',
  port: 40001,
  intervalMs: 10_000,
  timeoutMs: 5_000,
};

function setup(random = 0) {
  const clock = new FakeClock();
  const port = new FakePort();
  const results: ProbeResult[] = [];
  const unpinned: string[] = [];
  let ids = 0;
  const prober = new Prober({ port, clock, random: () => random, newCallId: () => `probe-${++ids}`, newTag: () => `tag${ids}`, onResult: (result) => results.push(result), unpin: (callId) => unpinned.push(callId) });
  return { clock, port, results, unpinned, prober };
}

describe('Prober: OPTIONS to each binding every interval, any final response alive', () => {
  it('sends a well-formed OPTIONS to the binding\'s source address, CSeq counting up on one Call-ID', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    t.clock.advance(TARGET.intervalMs);
    expect(t.port.sent).to.have.length(2);
    const [first, second] = t.port.sent;
    expect(first.destination).to.deep.equal({ address: '203.0.113.7', port: 40001 });
    expect(first.request.method).to.equal('OPTIONS');
    expect(first.request.uri).to.equal(TARGET.contact);
    expect(first.request.headers.to).to.deep.equal({ uri: TARGET.contact, params: {} });
    expect(first.request.headers.from.uri).to.equal('sip:192.0.2.1:5060');
    expect(first.request.headers.from.params.tag).to.be.a('string').and.not.equal('');
    expect(first.request.headers['max-forwards']).to.equal(70);
    expect(first.request.headers.cseq).to.deep.equal({ seq: 1, method: 'OPTIONS' });
    expect(second.request.headers.cseq).to.deep.equal({ seq: 2, method: 'OPTIONS' });
    expect(second.request.headers['call-id']).to.equal(first.request.headers['call-id']);
    expect(second.request.headers.from.params.tag).to.equal(first.request.headers.from.params.tag);
  });

  for (const status of [200, 404, 405, 486, 503, 603]) {
    it(`a ${status} answer is alive, with its round trip`, () => {
      const t = setup();
      t.prober.update([TARGET]);
      t.clock.advance(0);
      t.clock.advance(120);
      t.port.sent[0].respond(responseTo(t.port.sent[0].request, status));
      expect(t.results).to.deep.equal([{ trunkId: TARGET.trunkId, registrationId: TARGET.registrationId, ok: true, at: 0, rttMs: 120 }]);
    });
  }

  it('a 1xx is not an answer: no final response within the timeout fails and stops retransmitting', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    t.port.sent[0].respond(responseTo(t.port.sent[0].request, 100));
    t.clock.advance(TARGET.timeoutMs - 1);
    expect(t.results).to.deep.equal([]);
    t.clock.advance(1);
    expect(t.results).to.deep.equal([{ trunkId: TARGET.trunkId, registrationId: TARGET.registrationId, ok: false, at: 0, rttMs: null }]);
    expect(t.port.sent[0].abandoned).to.equal(1);
    // A late answer to the failed probe changes nothing.
    t.port.sent[0].respond(responseTo(t.port.sent[0].request, 200));
    expect(t.results).to.have.length(1);
  });

  it('a response without a readable status is no answer: the probe times out, nothing throws', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    for (const status of [Number.NaN, undefined, 99.5, -1]) t.port.sent[0].respond({ ...responseTo(t.port.sent[0].request, 200), status: status as number });
    expect(t.results).to.deep.equal([]);
    t.clock.advance(TARGET.timeoutMs);
    expect(t.results.map((result) => result.ok)).to.deep.equal([false]);
  });

  it('a send error to the destination, a local 503 or a throwing send each fail the probe once', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    t.port.failSend({ address: TARGET.address, port: TARGET.port }, 'EHOSTUNREACH');
    t.port.failSend({ address: TARGET.address, port: TARGET.port }, 'EHOSTUNREACH');
    t.clock.advance(TARGET.intervalMs);
    t.port.sent[1].respond(responseTo(t.port.sent[1].request, 503), 'local');
    t.port.throwOnSend = new Error('bad URI');
    t.clock.advance(TARGET.intervalMs);
    t.clock.advance(TARGET.timeoutMs);
    expect(t.results.map((result) => result.ok)).to.deep.equal([false, false, false]);
  });

  it('a send error for another destination is not this probe\'s', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    t.port.failSend({ address: TARGET.address, port: TARGET.port + 1 }, 'EHOSTUNREACH');
    t.port.sent[0].respond(responseTo(t.port.sent[0].request, 200));
    expect(t.results.map((result) => result.ok)).to.deep.equal([true]);
  });

  it('a timeout equal to the interval ends the old probe before the next is sent', () => {
    const t = setup();
    t.prober.update([{ ...TARGET, intervalMs: 5_000, timeoutMs: 5_000 }]);
    t.clock.advance(0);
    t.clock.advance(5_000);
    expect(t.results.map((result) => result.ok)).to.deep.equal([false]);
    expect(t.port.sent).to.have.length(2);
  });

  it('the first probe comes at a random point of the first interval; kept bindings keep their rhythm', () => {
    const t = setup(0.5);
    t.prober.update([TARGET]);
    t.clock.advance(4_999);
    expect(t.port.sent).to.have.length(0);
    t.clock.advance(1);
    expect(t.port.sent).to.have.length(1);
    const second = { ...TARGET, registrationId: '00000000-0000-4000-8000-000000000002', contact: 'sip:second@10.0.0.6' };
    // Given again with a new binding: the first stays on 5 s, 15 s ...; the new one starts at 5 s + 5 s.
    t.prober.update([TARGET, second]);
    t.clock.advance(10_000);
    expect(t.port.sent.map((entry) => entry.request.uri)).to.deep.equal([TARGET.contact, 'sip:second@10.0.0.6', TARGET.contact]);
  });

  it('a binding taken away mid-probe reports nothing, is abandoned and unpinned', () => {
    const t = setup();
    t.prober.update([TARGET]);
    t.clock.advance(0);
    t.prober.update([]);
    expect(t.port.sent[0].abandoned).to.equal(1);
    expect(t.unpinned).to.deep.equal([t.port.sent[0].request.headers['call-id']]);
    t.port.sent[0].respond(responseTo(t.port.sent[0].request, 200));
    t.clock.advance(60_000);
    expect(t.results).to.deep.equal([]);
    expect(t.port.sent).to.have.length(1);
    expect(t.clock.pending()).to.equal(0);
  });

  it('stop ends every probe and timer', () => {
    const t = setup();
    t.prober.update([TARGET, { ...TARGET, registrationId: '00000000-0000-4000-8000-000000000002' }]);
    t.clock.advance(0);
    t.prober.stop();
    expect(t.clock.pending()).to.equal(0);
    expect(t.unpinned).to.have.length(2);
    expect(t.port.sendErrorListeners.size).to.equal(0);
  });
});
