import { once } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expect } from 'chai';
import { DatagramPort, type RemoteInfo, type SendError } from '../../../worker/edge/datagram-port';
import type { EdgeToWorker, SendMessage } from '../../../worker/edge/protocol';

describe('DatagramPort', () => {
  let edgeSide: MessagePort;
  let workerSide: MessagePort;
  let socket: DatagramPort;

  beforeEach(() => {
    ({ port1: edgeSide, port2: workerSide } = new MessageChannel());
    socket = new DatagramPort(workerSide);
  });

  afterEach(() => {
    socket.close();
    edgeSide.close();
    workerSide.close();
  });

  it('emits each datagram as a Buffer with dgram-style rinfo', async () => {
    const data = new Uint8Array(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n')).buffer;
    const message: EdgeToWorker = { type: 'datagram', data, address: '::1', port: 5070 };
    edgeSide.postMessage(message, [data]);
    const [buf, rinfo] = (await once(socket, 'message')) as [Buffer, RemoteInfo];
    expect(Buffer.isBuffer(buf)).to.equal(true);
    expect(buf.toString()).to.equal('OPTIONS sip:x SIP/2.0\r\n\r\n');
    expect(rinfo).to.deep.equal({ address: '::1', family: 'IPv6', port: 5070, size: buf.length });
  });

  it('send posts a copy of exactly the bytes asked for and leaves the caller\'s Buffer intact', async () => {
    const buf = Buffer.from('xxSIP/2.0 200 OKyy');
    let callbackBytes = -1;
    socket.send(buf, 2, 14, 5080, '192.0.2.7', (error, bytes) => {
      expect(error).to.equal(null);
      callbackBytes = bytes;
    });
    const [message] = (await once(edgeSide, 'message')) as [SendMessage];
    expect(message.type).to.equal('send');
    expect(message.address).to.equal('192.0.2.7');
    expect(message.port).to.equal(5080);
    expect(message.data).to.be.instanceOf(ArrayBuffer);
    expect(Buffer.from(message.data).toString()).to.equal('SIP/2.0 200 OK');
    expect(buf.toString()).to.equal('xxSIP/2.0 200 OKyy');
    expect(callbackBytes).to.equal(14);
  });

  it('send refuses a range outside the buffer, as dgram does', () => {
    expect(() => socket.send(Buffer.from('abc'), 2, 2, 5060, '127.0.0.1')).to.throw(RangeError);
  });

  it('emits send-error and ignores message types that are not its own', async () => {
    const seen: string[] = [];
    socket.on('message', () => seen.push('message'));
    edgeSide.postMessage({ type: 'drain' } satisfies EdgeToWorker);
    edgeSide.postMessage({ type: 'control', payload: { any: 'thing' } } satisfies EdgeToWorker);
    edgeSide.postMessage({ type: 'stop' } satisfies EdgeToWorker);
    edgeSide.postMessage({ type: 'send-error', address: '192.0.2.9', port: 5060, code: 'EHOSTUNREACH' } satisfies EdgeToWorker);
    const [error] = (await once(socket, 'send-error')) as [SendError];
    expect(error).to.deep.equal({ address: '192.0.2.9', port: 5060, code: 'EHOSTUNREACH' });
    expect(seen).to.deep.equal([]);
  });

  it('after close it stops listening, and send reports it is closed', async () => {
    const closed = once(socket, 'close');
    socket.close();
    await closed;
    const failure = await new Promise<Error | null>((resolve) => socket.send(Buffer.from('x'), 0, 1, 5060, '127.0.0.1', resolve));
    expect((failure as NodeJS.ErrnoException).code).to.equal('ERR_SOCKET_DGRAM_NOT_RUNNING');
    expect(workerSide.listenerCount('message')).to.equal(0);
  });
});
