import { expect } from 'chai';
import { Fixture, HOST, delay, rawRequest } from './harness';

/**
 * Datagrams the stack drops. Unpatched, a datagram that was no SIP message, or one without Via, Call-ID, To,
 * From or CSeq, vanished without a trace; `onMessageDropped` lets the owner count them.
 */
describe('sip patch: onMessageDropped', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('reports unparsable datagrams and messages missing a mandatory header, with their source; not keep-alives', async () => {
    const dropped: string[] = [];
    const requests: string[] = [];
    const { port } = await fixture.stack((rq) => requests.push(rq.method), {
      onMessageDropped: (reason, remote) => dropped.push(`${reason} ${remote.address === HOST && remote.port > 0}`),
    });
    const peer = await fixture.peer();
    const valid = rawRequest('OPTIONS', `sip:x@${HOST}:${port}`, peer.port, 'z9hG4bKdropped');

    peer.send('\r\n\r\n', port);
    peer.send('hello\r\n\r\n', port);
    peer.send(valid.replace(/Call-ID: [^\r]*\r\n/, ''), port);
    peer.send(valid, port);
    await delay(100);

    expect(dropped).to.deep.equal(['unparsable true', 'missing-headers true']);
    expect(requests).to.deep.equal(['OPTIONS']);
  });
});
