import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST, type RawPeer, type Received, isRequest, request, waitFor, withTimeScale } from './harness';

/**
 * Timer C in the INVITE client transaction (RFC 3261 section 16.6 step 11, 16.7 step 2, 16.8): an INVITE that
 * got a 1xx and then nothing must end. Unpatched, the Proceeding state had no timer at all.
 */
describe('sip patch: Timer C', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  /** A callee that rings (180 at once, more 1xx per `ring`) and answers CANCEL with 200 and, if `answerCancel`, 487. */
  function ringingCallee(peer: RawPeer, client: () => number, options: { ring?: { delayMs: number; status: number }[]; answerCancel: boolean }) {
    let invite: Received | undefined;
    const ringAt: number[] = [];
    peer.onMessage((received) => {
      const { message } = received;
      if (!isRequest(message)) return;
      if (message.method === 'INVITE' && invite === undefined) {
        invite = received;
        peer.reply(message, 180, 'Ringing', client());
        ringAt.push(Date.now());
        for (const { delayMs, status } of options.ring ?? []) {
          setTimeout(() => {
            peer.reply(message, status, 'Session Progress', client());
            ringAt.push(Date.now());
          }, delayMs);
        }
      } else if (message.method === 'CANCEL') {
        peer.reply(message, 200, 'OK', client());
        if (options.answerCancel && invite !== undefined && isRequest(invite.message)) peer.reply(invite.message, 487, 'Request Terminated', client());
      }
    });
    return { ringAt, invite: () => invite };
  }

  it('fires timerC ms after the 1xx and sends a CANCEL with the INVITE branch; the 487 then ends the INVITE', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack(undefined, { timerC: 300 });
    const { ringAt, invite } = ringingCallee(callee, () => port, { answerCancel: true });
    const responses: sip.SipResponse[] = [];

    stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response');
    expect(final.status).to.equal(487);
    const [cancel] = callee.requests('CANCEL');
    expect(cancel, 'CANCEL').to.not.equal(undefined);
    expect(cancel.at - ringAt[0]).to.be.within(250, 1000);
    const inviteVia = (invite()?.message as sip.SipRequest).headers.via[0];
    expect(cancel.message.headers.via[0].params.branch).to.equal(inviteVia.params.branch);
    expect(cancel.message.headers.cseq).to.deep.equal({ seq: 1, method: 'CANCEL' });
    await waitFor(() => callee.requests('ACK').length === 1, 'the ACK of the 487');
  });

  it('restarts on each provisional response above 100', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack(undefined, { timerC: 300 });
    const { ringAt } = ringingCallee(callee, () => port, { ring: [{ delayMs: 200, status: 183 }], answerCancel: true });
    const responses: sip.SipResponse[] = [];

    stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));

    await waitFor(() => responses.find((r) => r.status === 487), 'the 487');
    const [cancel] = callee.requests('CANCEL');
    expect(ringAt).to.have.length(2);
    expect(cancel.at - ringAt[1], 'from the 183').to.be.within(250, 1000);
  });

  it('ends the INVITE with a 408 when the CANCEL brings no final response within 64*T1', async () => {
    await withTimeScale(1 / 20, async () => {
      const callee = await fixture.peer();
      // 6 s scaled: 300 ms; 64*T1 = 32 s scaled: 1.6 s
      const { stack, port } = await fixture.stack(undefined, { timerC: 6000 });
      ringingCallee(callee, () => port, { answerCancel: false });
      const responses: sip.SipResponse[] = [];

      stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));

      await waitFor(() => callee.requests('CANCEL').length === 1, 'the CANCEL', 2000);
      const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response', 4000);
      expect(final.status).to.equal(408);
      expect(final.reason).to.equal('Request Timeout');
      expect(responses.filter((r) => r.status >= 200)).to.have.length(1);
      expect(callee.requests('CANCEL')).to.have.length(1);
    });
  });
});
