import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, delay, rawRequest, waitFor } from './harness';

/**
 * The INVITE server transaction once a 2xx went out (Accepted, RFC 6026 section 8.5): only further 2xx are
 * passed to the transport. Unpatched, any later response was sent, so an error answer made after the call was
 * accepted (a handler that failed after it answered) reached the caller after its 200.
 */
describe('sip patch: INVITE server transaction in Accepted', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('sends a retransmitted 2xx and refuses a non-2xx after the 2xx', async () => {
    const holder: { stack?: sip.SipStack } = {};
    const { stack, port } = await fixture.stack((rq) => {
      if (rq.method !== 'INVITE') return;
      const ok = sip.makeResponse(rq, 200, 'OK');
      ok.headers.to.params.tag = 'uas';
      holder.stack?.send(ok);
      holder.stack?.send(sip.makeResponse(rq, 500, 'Server Internal Error'));
      holder.stack?.send(ok);
    });
    holder.stack = stack;
    const caller = await fixture.peer();

    caller.send(rawRequest('INVITE', `sip:callee@${HOST}:${port}`, caller.port, 'z9hG4bKaccepted'), port);

    await waitFor(() => caller.responses(200).length === 2, 'two 200s');
    await delay(50);
    expect(caller.responses().map((r) => (r.message as sip.SipResponse).status)).to.deep.equal([200, 200]);
  });
});
