import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, isRequest, request, waitFor } from './harness';

/**
 * A response off the wire carries `remote`; one the stack made itself has none. Unpatched, a response callback
 * could not tell a 503 the next hop sent from the 503 the stack reports for a send that failed, and a proxy
 * relayed its own stack's 503 (no To tag, no Retry-After) as the far end's, blaming a hop that never saw the
 * request.
 */
describe('sip patch: received messages carry their remote', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('marks a received response with where it came from, not enumerable, so never serialised or copied', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    callee.onMessage(({ message }) => {
      if (isRequest(message)) callee.reply(message, 503, 'Maintenance', port, { headers: { 'retry-after': '30' } });
    });
    const responses: sip.SipResponse[] = [];

    stack.send(request('OPTIONS', `sip:callee@${HOST}:${callee.port}`), (response) => responses.push(response));

    const [response] = await waitFor(() => responses.length > 0 && responses, 'the 503');
    expect(response.status).to.equal(503);
    expect(response.remote).to.deep.include({ protocol: 'UDP', address: HOST, port: callee.port });
    expect(Object.keys(response)).to.not.include('remote');
    expect(JSON.stringify(response)).to.not.include('"remote"');
    expect(sip.copyMessage(response, true).remote).to.equal(undefined);
  });

  it('marks a received request too, beside the remote the request callback gets', async () => {
    const seen: sip.SipRequest[] = [];
    const { stack, port } = await fixture.stack((rq) => seen.push(rq));
    stack.send(request('OPTIONS', `sip:callee@${HOST}:${port}`), () => undefined, { address: HOST, port });
    await waitFor(() => seen.length > 0, 'the request');
    expect(seen[0].remote).to.deep.include({ address: HOST, port });
  });

  it('leaves a response the stack made itself unmarked: the 503 for a request it could not serialise', async () => {
    const callee = await fixture.peer();
    const { stack } = await fixture.stack(undefined, { onTransportError: () => undefined });
    const responses: sip.SipResponse[] = [];
    const unprintable = {
      toString(): string {
        throw new Error('cannot print this header');
      },
    };

    stack.send(request('INVITE', `sip:callee@${HOST}:${callee.port}`, { 'x-unprintable': unprintable }), (response) => responses.push(response));

    const [response] = await waitFor(() => responses.length > 0 && responses, 'the 503');
    expect(response.status).to.equal(503);
    expect(response.remote).to.equal(undefined);
    // Nothing reached the callee but the ACK of that 503, which carries no such header.
    expect(callee.received.map((r) => (r.message as sip.SipRequest).method)).to.deep.equal(['ACK']);
  });
});
