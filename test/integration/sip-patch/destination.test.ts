import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST, isRequest, request, waitFor } from './harness';

/**
 * `send(request, callback, destination)`: the next hop chosen by the caller (a proxy's target, a registered
 * flow), whatever the Request-URI and Route say; they go out unchanged. Unpatched, the third argument was
 * ignored.
 */
describe('sip patch: send() to an explicit destination', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('sends a request to the destination, Request-URI and Route untouched', async () => {
    const target = await fixture.peer();
    const decoy = await fixture.peer();
    const { stack, port } = await fixture.stack();
    target.onMessage(({ message }) => {
      if (isRequest(message)) target.reply(message, 200, 'OK', port);
    });
    const uri = `sip:+15550100@${HOST}:${decoy.port}`;
    const route = `sip:${HOST}:${decoy.port};lr`;
    const responses: sip.SipResponse[] = [];

    stack.send(request('OPTIONS', uri, { route: [{ uri: route, params: {} }] }), (response) => responses.push(response), {
      protocol: 'UDP',
      address: HOST,
      port: target.port,
    });

    expect((await waitFor(() => responses[0], 'the 200')).status).to.equal(200);
    const [received] = target.requests('OPTIONS');
    expect(received.text.startsWith(`OPTIONS ${uri} SIP/2.0\r\n`)).to.equal(true);
    expect(received.text).to.include(`<${route}>`);
    expect(decoy.received).to.deep.equal([]);
  });

  it('sends an ACK to the destination', async () => {
    const target = await fixture.peer();
    const decoy = await fixture.peer();
    const { stack } = await fixture.stack();

    stack.send(request('ACK', `sip:callee@${HOST}:${decoy.port}`, { cseq: { seq: 1, method: 'ACK' } }), undefined, { address: HOST, port: target.port });

    await waitFor(() => target.requests('ACK')[0], 'the ACK');
    expect(decoy.received).to.deep.equal([]);
  });
});
