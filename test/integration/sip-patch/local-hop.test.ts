import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST, request, waitFor } from './harness';

/**
 * "Is the next hop us?" compares host and port. Unpatched it compared the host only, so a next hop on our own
 * host at another port got a local 404, and one with no user part made `send()` throw.
 */
describe('sip patch: a next hop on our own host', () => {
  // the stack under test advertises 127.0.0.1, the address it binds and its peers use
  const own = { publicAddress: HOST };
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  async function sendFrom(stack: sip.SipStack, rq: sip.SipRequest): Promise<sip.SipResponse> {
    const responses: sip.SipResponse[] = [];
    stack.send(rq, (response) => responses.push(response));
    return waitFor(() => responses[0], 'a response');
  }

  it('sends to our own host at another port', async () => {
    const { port: peerPort } = await fixture.answering(200, 'OK');
    const { stack } = await fixture.stack(undefined, own);

    const response = await sendFrom(stack, request('OPTIONS', `sip:peer@${HOST}:${peerPort}`));

    expect(response.status).to.equal(200);
  });

  it('sends to a Request-URI with no user part', async () => {
    const { port: peerPort } = await fixture.answering(200, 'OK');
    const { stack } = await fixture.stack(undefined, own);

    const response = await sendFrom(stack, request('OPTIONS', `sip:${HOST}:${peerPort}`));

    expect(response.status).to.equal(200);
  });

  it('follows a Route naming our own host at another port instead of removing it', async () => {
    const { port: peerPort } = await fixture.answering(200, 'OK');
    const { stack } = await fixture.stack(undefined, own);
    const rq = request('OPTIONS', `sip:someone@${HOST}:9`, { route: [{ uri: `sip:${HOST}:${peerPort};lr`, params: {} }] });

    const response = await sendFrom(stack, rq);

    expect(response.status).to.equal(200);
  });

  it('still answers a request to our own host and port locally, with 404 Not Found', async () => {
    const { stack, port } = await fixture.stack(undefined, own);

    const response = await sendFrom(stack, request('OPTIONS', `sip:me@${HOST}:${port}`));

    expect(response.status).to.equal(404);
    expect(response.reason).to.equal('Not Found');
  });
});
