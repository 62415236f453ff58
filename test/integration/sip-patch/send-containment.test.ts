import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, rawRequest, request, waitFor } from './harness';

/**
 * A message that cannot be serialised. Transactions send from process.nextTick and from timers, where no
 * caller can catch: unpatched, an exception in `stringify` there was uncaught and ended the process (a SIP
 * worker thread, with every call on it). Now it goes to onTransportError, and a client transaction reports a
 * 503 as for any transport failure.
 */
describe('sip patch: sends that throw', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  const unprintable = {
    toString(): string {
      throw new Error('cannot print this header');
    },
  };

  it('reports a request that cannot be serialised to onTransportError and answers it 503, throwing nothing', async () => {
    const callee = await fixture.peer();
    const errors: string[] = [];
    const { stack } = await fixture.stack(undefined, { onTransportError: (error, protocol) => errors.push(`${protocol}: ${error.message}`) });
    const statuses: number[] = [];

    for (const method of ['INVITE', 'OPTIONS']) {
      stack.send(request(method, `sip:callee@${HOST}:${callee.port}`, { 'x-unprintable': unprintable }), (response) => statuses.push(response.status));
    }

    await waitFor(() => statuses.length === 2, 'two answers');
    expect(statuses).to.deep.equal([503, 503]);
    expect(errors[0]).to.equal('UDP: cannot print this header');
    // Nothing went out but the ACK of the INVITE's 503, which carries no such header.
    expect(callee.received.map((r) => (r.message as sip.SipRequest).method)).to.deep.equal(['ACK']);
  });

  it('reports a response that cannot be serialised to onTransportError, throwing nothing', async () => {
    const errors: string[] = [];
    const holder: { stack?: sip.SipStack } = {};
    const { stack, port } = await fixture.stack(
      (rq) => {
        holder.stack?.send(sip.makeResponse(rq, 200, 'OK', { headers: { 'x-unprintable': unprintable } }));
      },
      { onTransportError: (error) => errors.push(error.message) },
    );
    holder.stack = stack;
    const caller = await fixture.peer();

    caller.send(rawRequest('OPTIONS', `sip:callee@${HOST}:${port}`, caller.port, 'z9hG4bKunprintable'), port);

    await waitFor(() => errors.length > 0, 'the error');
    expect(errors[0]).to.equal('cannot print this header');
  });
});
