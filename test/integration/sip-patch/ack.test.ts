import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST, PUBLIC_NAME, request, waitFor } from './harness';

/**
 * ACKs. An ACK for a 2xx is a transaction of its own: a proxy forwarding one puts its Via on top with a new
 * branch (RFC 3261 section 16.6 step 8). Unpatched, `send()` of an ACK that already had Vias wrote our host
 * over the upstream top Via (keeping its branch); the ACK the stack sends for a non-2xx final response lacked
 * the INVITE's Route (section 17.1.1.3); and an ACK to a transport that is off threw out of `send()`.
 */
describe('sip patch: ACK', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('forwards an ACK with our Via on top, a new branch, and the upstream Vias below it', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    const upstream: sip.Via = { version: '2.0', protocol: 'UDP', host: '192.0.2.7', port: 5062, params: { branch: 'z9hG4bKuac', rport: '5062' } };
    const ack = request('ACK', `sip:callee@${HOST}:${callee.port}`, { via: [upstream], cseq: { seq: 1, method: 'ACK' } });

    stack.send(ack);

    const received = await waitFor(() => callee.requests('ACK')[0], 'the ACK');
    const [ours, theirs] = received.message.headers.via;
    expect(received.message.headers.via).to.have.length(2);
    expect(ours).to.include({ host: PUBLIC_NAME, port, protocol: 'UDP' });
    expect(ours.params.branch).to.match(/^z9hG4bK[0-9a-f]{24}$/);
    expect(theirs).to.deep.equal(upstream);
  });

  it('gives the ACK of a non-2xx final response the Route of the INVITE', async () => {
    const callee = await fixture.peer();
    const { stack, port } = await fixture.stack();
    callee.onMessage(({ message }) => {
      if ('method' in message && message.method === 'INVITE') callee.reply(message, 486, 'Busy Here', port);
    });
    const route = `sip:${HOST}:${callee.port};lr`;

    stack.send(request('INVITE', 'sip:callee@192.0.2.9', { route: [{ uri: route, params: {} }] }));

    const ack = await waitFor(() => callee.requests('ACK')[0], 'the ACK');
    expect(ack.text).to.match(new RegExp(`\\r\\nRoute: +<${route.replace(/[.;]/g, '\\$&')}>\\r\\n`));
  });

  it('logs an ACK for a transport that is off instead of throwing', async () => {
    const errors: unknown[] = [];
    const { stack } = await fixture.stack(undefined, { tcp: false, logger: { error: (error) => errors.push(error) } });

    expect(() => stack.send(request('ACK', `sip:callee@${HOST}:5999;transport=tcp`, { cseq: { seq: 1, method: 'ACK' } }))).to.not.throw();
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(TypeError);
  });
});
