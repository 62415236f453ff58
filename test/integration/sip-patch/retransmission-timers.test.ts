import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, intervals, isRequest, rawRequest, request, waitFor, withTimeScale } from './harness';

/**
 * Retransmission timers over UDP, run 20 times faster than real time (T1 = 500 ms becomes 25 ms, T2 = 4 s
 * becomes 200 ms, 64*T1 = 32 s becomes 1.6 s). Unpatched: Timer E (non-INVITE requests) and Timer G (non-2xx
 * final responses to INVITE) kept doubling past T2, a non-INVITE request that had a 1xx was neither
 * retransmitted nor timed out by Timer F (it never ended), and the 408s of timers B and F had no reason phrase.
 */
describe('sip patch: retransmission timers', () => {
  const SCALE = 1 / 20;
  const T2 = 4000 * SCALE;
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('Timer E doubles from T1 up to T2 and stays there (RFC 3261 17.1.2.2)', async () => {
    await withTimeScale(SCALE, async () => {
      const silent = await fixture.peer();
      const { stack } = await fixture.stack();

      stack.send(request('OPTIONS', `sip:peer@${HOST}:${silent.port}`));

      // 0, 25, 75, 175, 375, 575, 775, 975 ms; doubling would reach only 775 ms by its 6th send
      const sent = await waitFor(() => silent.requests('OPTIONS').length >= 8 && silent.requests('OPTIONS'), 'eight sends', 1500);
      const gaps = intervals(sent);
      expect(Math.max(...gaps.slice(4))).to.be.below(T2 * 1.5);
    });
  });

  it('after a 1xx, retransmits a non-INVITE request every T2 and ends it with a 408 at Timer F', async () => {
    await withTimeScale(SCALE, async () => {
      const peer = await fixture.peer();
      const { stack, port } = await fixture.stack();
      peer.onMessage(({ message }) => {
        if (isRequest(message) && peer.requests('OPTIONS').length === 1) peer.reply(message, 100, 'Trying', port);
      });
      const responses: sip.SipResponse[] = [];
      const started = Date.now();

      stack.send(request('OPTIONS', `sip:peer@${HOST}:${peer.port}`), (response) => responses.push(response));

      const timeout = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response', 3000);
      expect(timeout.status).to.equal(408);
      expect(timeout.reason).to.equal('Request Timeout');
      expect(Date.now() - started).to.be.within(32000 * SCALE * 0.9, 32000 * SCALE * 1.5);
      const retransmitted = peer.requests('OPTIONS').slice(1);
      expect(retransmitted.length).to.be.at.least(5);
      expect(Math.max(...intervals(retransmitted))).to.be.below(T2 * 1.5);
    });
  });

  it('Timer B ends an unanswered INVITE with 408 Request Timeout', async () => {
    await withTimeScale(SCALE, async () => {
      const silent = await fixture.peer();
      const { stack } = await fixture.stack();
      const responses: sip.SipResponse[] = [];

      stack.send(request('INVITE', `sip:callee@${HOST}:${silent.port}`), (response) => responses.push(response));

      const timeout = await waitFor(() => responses[0], 'a response', 3000);
      expect([timeout.status, timeout.reason]).to.deep.equal([408, 'Request Timeout']);
    });
  });

  it('Timer G doubles from T1 up to T2 and stays there (RFC 3261 17.2.1)', async () => {
    await withTimeScale(SCALE, async () => {
      const caller = await fixture.peer();
      const holder: { stack?: sip.SipStack } = {};
      const { stack, port } = await fixture.stack((rq) => {
        const busy = sip.makeResponse(rq, 486, 'Busy Here');
        busy.headers.to.params.tag = 'callee';
        holder.stack?.send(busy);
      });
      holder.stack = stack;

      caller.send(rawRequest('INVITE', `sip:callee@${HOST}:${port}`, caller.port, 'z9hG4bKtimerg'), port);

      // 0, 25, 75, 175, 375, 575, 775, 975 ms; doubling would reach only 775 ms by its 6th send
      const sent = await waitFor(() => caller.responses(486).length >= 8 && caller.responses(486), 'eight 486s', 1500);
      expect(Math.max(...intervals(sent).slice(4))).to.be.below(T2 * 1.5);
    });
  });
});
