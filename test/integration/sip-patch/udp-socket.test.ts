import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, freeUdpPort, rawRequest, request, waitFor } from './harness';

/**
 * The `udpSocket` option: a dgram-like object instead of a bound socket, so that a worker thread's stack can
 * send and receive through a message channel. Unpatched, the option was ignored and the stack bound a socket.
 */
class FakeUdpSocket extends EventEmitter {
  peer: FakeUdpSocket | undefined;
  sent = 0;
  closed = false;

  constructor(
    readonly address: string,
    readonly port: number,
  ) {
    super();
  }

  send(buffer: Buffer, offset: number, length: number, port: number, address: string): void {
    this.sent += 1;
    const bytes = Buffer.from(buffer.subarray(offset, offset + length)); // a copy, as a message channel makes
    const peer = this.peer;
    if (peer !== undefined && peer.port === port && peer.address === address) {
      setImmediate(() => peer.emit('message', bytes, { address: this.address, port: this.port }));
    }
  }

  close(): void {
    this.closed = true;
  }
}

function pair(a: FakeUdpSocket, b: FakeUdpSocket): void {
  a.peer = b;
  b.peer = a;
}

describe('sip patch: udpSocket', () => {
  let fixture: Fixture;
  let a: FakeUdpSocket;
  let b: FakeUdpSocket;
  beforeEach(async () => {
    fixture = await Fixture.create();
    // free ports, in case the option is ignored and real sockets get bound
    a = new FakeUdpSocket(HOST, await freeUdpPort());
    b = new FakeUdpSocket(HOST, await freeUdpPort());
    pair(a, b);
  });
  afterEach(() => fixture.close());

  it('carries a transaction between two stacks over injected sockets, binding none', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'UDPWRAP').length;
    const before = sockets();
    const holder: { stack?: sip.SipStack } = {};
    const callee = await fixture.stack((rq) => holder.stack?.send(sip.makeResponse(rq, 200, 'OK')), { port: b.port, udpSocket: b });
    holder.stack = callee.stack;
    const { stack } = await fixture.stack(undefined, { port: a.port, udpSocket: a });
    const responses: sip.SipResponse[] = [];

    stack.send(request('OPTIONS', `sip:callee@${HOST}:${b.port}`), (response) => responses.push(response));

    expect((await waitFor(() => responses[0], 'the 200')).status).to.equal(200);
    expect(a.sent).to.equal(1);
    expect(b.sent).to.equal(1);
    expect(sockets()).to.equal(before);
  });

  it('takes a datagram handed over as a Uint8Array or an ArrayBuffer like a Buffer', async () => {
    const received: string[] = [];
    await fixture.stack((rq) => received.push(rq.headers['call-id']), { port: b.port, udpSocket: b });
    const datagram = (branch: string) => Buffer.from(rawRequest('OPTIONS', `sip:callee@${HOST}:${b.port}`, a.port, branch), 'binary');
    const first = datagram('z9hG4bKview');
    const view = new Uint8Array(first.length + 4).fill(0x41);
    view.set(first, 2);
    const second = datagram('z9hG4bKarraybuffer');

    b.emit('message', view.subarray(2, 2 + first.length), { address: HOST, port: a.port });
    b.emit('message', second.buffer.slice(second.byteOffset, second.byteOffset + second.length), { address: HOST, port: a.port });

    await waitFor(() => received.length === 2, 'two requests');
  });

  it('reports an exception while handling a datagram to onTransportError', async () => {
    const errors: string[] = [];
    await fixture.stack(() => undefined, { port: b.port, udpSocket: b, onTransportError: (error, protocol) => errors.push(`${protocol} ${error.name}`) });

    b.emit('message', Buffer.from(rawRequest('OPTIONS', `sip:callee@${HOST}:${b.port}`, a.port, 'z9hG4bKnoinfo'), 'binary'), undefined);

    expect(errors).to.deep.equal(['UDP TypeError']);
  });

  it('on destroy(), stops listening to the injected socket and closes it', async () => {
    const { stack } = await fixture.stack(undefined, { port: b.port, udpSocket: b });
    expect(b.listenerCount('message')).to.equal(1);

    stack.destroy();

    expect(b.listenerCount('message')).to.equal(0);
    expect(b.closed).to.equal(true);
  });
});
