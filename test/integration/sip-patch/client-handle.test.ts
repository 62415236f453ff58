import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, delay, isRequest, request, waitFor, withTimeScale } from './harness';

/**
 * `send()` returns a handle on its client transaction: `cancel()` (RFC 3261 section 9.1) and `abandon()`.
 * Unpatched, `send()` returned nothing, so a branch could not be cancelled before a 1xx or stopped at all.
 */
describe('sip patch: the handle send() returns', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('holds a cancel() made before any 1xx until the first one arrives, then CANCELs that address', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    let ringAt = 0;
    callee.onMessage(({ message }) => {
      if (!isRequest(message)) return;
      if (message.method === 'INVITE' && callee.requests('INVITE').length === 1) {
        setTimeout(() => {
          ringAt = Date.now();
          callee.reply(message, 180, 'Ringing', port);
        }, 150);
      } else if (message.method === 'CANCEL') {
        callee.reply(message, 200, 'OK', port);
        const invite = callee.requests('INVITE')[0].message as sip.SipRequest;
        callee.reply(invite, 487, 'Request Terminated', port);
      }
    });
    const responses: sip.SipResponse[] = [];

    const handle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));
    handle.cancel();

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response');
    expect(final.status).to.equal(487);
    const [cancel] = callee.requests('CANCEL');
    expect(ringAt).to.be.greaterThan(0);
    expect(cancel.at).to.be.at.least(ringAt);
    expect(cancel.message.headers.via[0].params.branch).to.equal(callee.requests('INVITE')[0].message.headers.via[0].params.branch);
  });

  it('sends the CANCEL at once when cancel() is called from the callback of the first 1xx', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    callee.onMessage(({ message }) => {
      if (!isRequest(message)) return;
      if (message.method === 'INVITE' && callee.requests('INVITE').length === 1) callee.reply(message, 180, 'Ringing', port);
      else if (message.method === 'CANCEL') {
        callee.reply(message, 200, 'OK', port);
        callee.reply(callee.requests('INVITE')[0].message as sip.SipRequest, 487, 'Request Terminated', port);
      }
    });
    const responses: sip.SipResponse[] = [];

    const handle: sip.ClientHandle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => {
      responses.push(response);
      if (response.status === 180) handle.cancel();
    });

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response', 1000);
    expect(final.status).to.equal(487);
    expect(callee.requests('CANCEL')).to.have.length(1);
  });

  it('abandon() before any 1xx stops the retransmissions, and no 408 follows', async () => {
    await withTimeScale(1 / 40, async () => {
      const callee = await fixture.peer();
      const { stack } = await fixture.stack();
      const responses: sip.SipResponse[] = [];

      const handle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));
      await waitFor(() => callee.requests('INVITE').length >= 3, 'two retransmissions', 1000);
      handle.abandon();
      await delay(20);
      const sent = callee.requests('INVITE').length;

      await delay(1000); // Timer B (64*T1) is 800 ms at this scale
      expect(callee.requests('INVITE')).to.have.length(sent);
      expect(responses).to.deep.equal([]);
    });
  });

  it('after abandon(), a late 1xx gets a CANCEL and the final response is ACKed, none reaching the callback', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    const responses: sip.SipResponse[] = [];

    const handle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));
    const invite = await waitFor(() => callee.requests('INVITE')[0], 'the INVITE');
    handle.abandon();
    callee.onMessage(({ message }) => {
      if (isRequest(message) && message.method === 'CANCEL') {
        callee.reply(message, 200, 'OK', port);
        callee.reply(invite.message as sip.SipRequest, 487, 'Request Terminated', port);
      }
    });
    callee.reply(invite.message as sip.SipRequest, 180, 'Ringing', port);

    await waitFor(() => callee.requests('CANCEL').length === 1, 'the CANCEL');
    const ack = await waitFor(() => callee.requests('ACK')[0], 'the ACK of the 487');
    expect(ack.message.headers.via[0].params.branch).to.equal(invite.message.headers.via[0].params.branch);
    await delay(50);
    expect(responses).to.deep.equal([]);
  });

  it('abandon() called from the callback of a 1xx CANCELs, ACKs the final response and reports nothing more', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    callee.onMessage(({ message }) => {
      if (!isRequest(message)) return;
      if (message.method === 'INVITE' && callee.requests('INVITE').length === 1) callee.reply(message, 180, 'Ringing', port);
      else if (message.method === 'CANCEL') {
        callee.reply(message, 200, 'OK', port);
        callee.reply(callee.requests('INVITE')[0].message as sip.SipRequest, 487, 'Request Terminated', port);
      }
    });
    const responses: sip.SipResponse[] = [];

    const handle: sip.ClientHandle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => {
      responses.push(response);
      handle.abandon();
    });

    await waitFor(() => callee.requests('ACK')[0], 'the ACK of the 487');
    await delay(50);
    expect(callee.requests('CANCEL')).to.have.length(1);
    expect(responses.map((r) => r.status)).to.deep.equal([180]);
  });

  it('after abandon(), a late 2xx still reaches the callback, so that the caller can ACK and BYE it', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    const responses: sip.SipResponse[] = [];

    const handle = stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));
    const invite = await waitFor(() => callee.requests('INVITE')[0], 'the INVITE');
    handle.abandon();
    callee.reply(invite.message as sip.SipRequest, 200, 'OK', port, {
      headers: { contact: [{ uri: `sip:callee@${HOST}:${callee.port}`, params: {} }] },
    });

    const answer = await waitFor(() => responses[0], 'the 200');
    expect(answer.status).to.equal(200);
    expect(responses).to.have.length(1);
  });

  it('send() of a response says whether a server transaction took it', async () => {
    const { stack: callee, port } = await fixture.stack((rq) => {
      accepted.push(callee.send(sip.makeResponse(rq, 200, 'OK')));
      const stray = sip.makeResponse(rq, 200, 'OK');
      stray.headers.via[0].params.branch = 'z9hG4bKnot-a-transaction';
      accepted.push(callee.send(stray));
    });
    const accepted: boolean[] = [];
    const { stack: caller } = await fixture.stack();
    const responses: sip.SipResponse[] = [];

    caller.send(request('OPTIONS', `sip:callee@${HOST}:${port}`), (response) => responses.push(response));

    await waitFor(() => responses[0], 'the 200');
    expect(accepted).to.deep.equal([true, false]);
  });
});
