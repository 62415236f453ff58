import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST, type RawPeer, delay, isRequest, request, waitFor } from './harness';

/**
 * Responses when a request goes to several addresses in turn (RFC 3263 section 4.3: a 503 moves on to the
 * next one). Unpatched, a 503 from the last address came back as a synthetic 503 with no reason phrase and no
 * headers, and the ACK of a 503 went out with the branch of the next attempt. Several addresses come from DNS
 * or, patched, from a list of destinations (the stack resolves with the `dns` functions it captured when it
 * was loaded, so a test cannot point it at a fake DNS server).
 */
describe('sip patch: responses across addresses', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  // the Request-URI names no one: the list of destinations decides
  const at = (...peers: RawPeer[]): sip.Destination[] => peers.map((peer) => ({ protocol: 'UDP', address: HOST, port: peer.port }));

  function answerInvites(peer: RawPeer, status: number, reason: string, to: () => number, headers: Partial<sip.SipHeaders> = {}): void {
    peer.onMessage(({ message }) => {
      if (isRequest(message) && message.method === 'INVITE') peer.reply(message, status, reason, to(), { headers });
    });
  }

  it('hands back a 503 from the last address as it came: reason phrase, Retry-After, To tag', async () => {
    const carrier = await fixture.peer();
    const { stack, port } = await fixture.stack();
    answerInvites(carrier, 503, 'Busy Overload', () => port, { 'retry-after': '30' });
    const responses: sip.SipResponse[] = [];

    stack.send(request('INVITE', `sip:+15550100@${HOST}:${carrier.port}`), (response) => responses.push(response));

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response');
    expect(final.status).to.equal(503);
    expect(final.reason).to.equal('Busy Overload');
    expect(final.headers['retry-after']).to.equal('30');
    expect(final.headers.to.params.tag).to.equal('uas-tag');
  });

  it('tries the next address after a 503 with a new branch, and ACKs the 503 with the branch it answered', async () => {
    const first = await fixture.peer();
    const second = await fixture.peer();
    const { stack, port } = await fixture.stack();
    answerInvites(first, 503, 'Service Unavailable', () => port);
    answerInvites(second, 486, 'Busy Here', () => port);
    const responses: sip.SipResponse[] = [];

    stack.send(request('INVITE', `sip:+15550100@${HOST}:9`), (response) => responses.push(response), at(first, second));

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response');
    expect(final.status).to.equal(486);
    expect(responses.map((r) => r.status)).to.not.include(503);
    const firstBranch = first.requests('INVITE')[0].message.headers.via[0].params.branch;
    const secondBranch = second.requests('INVITE')[0].message.headers.via[0].params.branch;
    expect(secondBranch).to.not.equal(firstBranch);
    const ack = await waitFor(() => first.requests('ACK')[0], 'the ACK of the 503');
    expect(ack.message.headers.via[0].params.branch).to.equal(firstBranch);
  });

  it('does not move on to the next address once the INVITE was cancelled', async () => {
    const first = await fixture.peer();
    const second = await fixture.peer();
    const { stack, port } = await fixture.stack();
    first.onMessage(({ message }) => {
      if (!isRequest(message)) return;
      if (message.method === 'INVITE' && first.requests('INVITE').length === 1) first.reply(message, 100, 'Trying', port);
      if (message.method === 'CANCEL') {
        first.reply(message, 200, 'OK', port);
        first.reply(first.requests('INVITE')[0].message as sip.SipRequest, 503, 'Service Unavailable', port);
      }
    });
    const responses: sip.SipResponse[] = [];

    const handle: sip.ClientHandle = stack.send(
      request('INVITE', `sip:+15550100@${HOST}:9`),
      (response) => {
        responses.push(response);
        if (response.status === 100) handle.cancel();
      },
      at(first, second),
    );

    const final = await waitFor(() => responses.find((r) => r.status >= 200), 'a final response');
    expect(final.status).to.equal(503);
    await delay(100);
    expect(second.requests('INVITE')).to.deep.equal([]);
  });
});
