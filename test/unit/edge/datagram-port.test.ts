import { once } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expect } from 'chai';
import { DatagramBatch, MAX_BATCH_DATAGRAMS, PackedReader } from '../../../worker/edge/datagram-batch';
import { DatagramPort, type RemoteInfo, type SendError } from '../../../worker/edge/datagram-port';
import { handoffNow } from '../../../worker/edge/handoff-clock';
import type { DatagramsMessage, EdgeToWorker, SendsMessage, WorkerToEdge } from '../../../worker/edge/protocol';

/** A `datagrams` message as the edge builds it, each datagram stamped `ageMs` ago. */
function batchOf(datagrams: { text: string; address: string; port: number }[], ageMs = 0): DatagramsMessage {
  const batch = new DatagramBatch();
  const stamp = handoffNow() - ageMs;
  for (const datagram of datagrams) batch.add(Buffer.from(datagram.text, 'latin1'), datagram.address, datagram.port, stamp);
  return { type: 'datagrams', ...batch.take() };
}

function textsOf(message: SendsMessage): string[] {
  const reader = new PackedReader(message);
  return Array.from({ length: reader.count }, (_, k) => (reader.datagram(k) as Buffer).toString('latin1'));
}

describe('DatagramPort', () => {
  let edgeSide: MessagePort;
  let workerSide: MessagePort;
  let socket: DatagramPort;
  let sojourns: number[];
  /** The turn's flush, run by the test (null: none pending). */
  let pendingFlush: (() => void) | null;
  let posted: WorkerToEdge[];

  beforeEach(() => {
    ({ port1: edgeSide, port2: workerSide } = new MessageChannel());
    sojourns = [];
    pendingFlush = null;
    posted = [];
    edgeSide.on('message', (message: WorkerToEdge) => posted.push(message));
    socket = new DatagramPort(workerSide, {
      onSojourn: (_now, sojournMs) => sojourns.push(sojournMs),
      schedule: (flush) => {
        expect(pendingFlush, 'one flush per turn').to.equal(null);
        pendingFlush = flush;
      },
    });
  });

  afterEach(() => {
    socket.close();
    edgeSide.close();
    workerSide.close();
  });

  /** Waits until `count` messages reached the edge side in all. */
  async function arrived(count: number): Promise<void> {
    const deadline = Date.now() + 2000;
    while (posted.length < count) {
      if (Date.now() > deadline) throw new Error(`${posted.length} messages reached the edge, not ${count}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Runs the turn's flush and waits until `count` messages reached the edge in all. */
  async function endTurn(count: number): Promise<void> {
    const flush = pendingFlush;
    pendingFlush = null;
    flush?.();
    await arrived(count);
  }

  it('emits each datagram of a batch in order as a Buffer with dgram-style rinfo, and observes how long it waited', async () => {
    const message = batchOf(
      [
        { text: 'OPTIONS sip:x SIP/2.0\r\n\r\n', address: '::1', port: 5070 },
        { text: 'BYE sip:y SIP/2.0\r\n\r\n', address: '192.0.2.7', port: 5080 },
        { text: 'ACK sip:z SIP/2.0\r\n\r\n', address: '192.0.2.8', port: 5090 },
      ],
      40,
    );
    edgeSide.postMessage(message, [message.bytes]);
    const seen: [string, RemoteInfo][] = [];
    socket.on('message', (buf, rinfo) => seen.push([buf.toString('latin1'), rinfo]));
    await once(socket, 'message');
    expect(seen).to.deep.equal([
      ['OPTIONS sip:x SIP/2.0\r\n\r\n', { address: '::1', family: 'IPv6', port: 5070, size: 25 }],
      ['BYE sip:y SIP/2.0\r\n\r\n', { address: '192.0.2.7', family: 'IPv4', port: 5080, size: 21 }],
      ['ACK sip:z SIP/2.0\r\n\r\n', { address: '192.0.2.8', family: 'IPv4', port: 5090, size: 21 }],
    ]);
    expect(sojourns).to.have.length(3);
    for (const sojourn of sojourns) expect(sojourn).to.be.at.least(40);
  });

  it('drops a datagram whose range lies outside the batch, never reading past it, and keeps the ones before', async () => {
    const message = batchOf([
      { text: 'first', address: '192.0.2.1', port: 1 },
      { text: 'second', address: '192.0.2.1', port: 2 },
    ]);
    // Datagram 1's end (row 1, the first of its three Float64, in the table that ends the buffer) past the bytes.
    new Float64Array(message.bytes, message.bytes.byteLength - 2 * 24, 6)[3] = message.bytes.byteLength + 1;
    const seen: string[] = [];
    socket.on('message', (buf) => seen.push(buf.toString('latin1')));
    edgeSide.postMessage(message, [message.bytes]);
    await once(socket, 'message');
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).to.deep.equal(['first']);
  });

  it('a listener that throws costs only its own datagram, and the throw still reaches the uncaught handler', async () => {
    const runnerHandlers = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const caught: unknown[] = [];
    process.on('uncaughtException', (error) => caught.push(error));
    try {
      const seen: string[] = [];
      socket.on('message', (buf) => {
        const text = buf.toString('latin1');
        if (text === 'bad') throw new Error('listener bug');
        seen.push(text);
      });
      const message = batchOf(['one', 'bad', 'two'].map((text) => ({ text, address: '192.0.2.1', port: 5060 })));
      edgeSide.postMessage(message, [message.bytes]);
      for (let turn = 0; turn < 100 && caught.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(seen).to.deep.equal(['one', 'two']);
      expect(caught.map((error) => (error as Error).message)).to.deep.equal(['listener bug']);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const handler of runnerHandlers) process.on('uncaughtException', handler);
    }
  });

  it('sends the sends of one turn as one message, in order, copies the bytes and calls back on the next tick', async () => {
    const buf = Buffer.from('xxSIP/2.0 200 OKyy');
    const callbacks: number[] = [];
    socket.send(buf, 2, 14, 5080, '192.0.2.7', (error, bytes) => callbacks.push(error === null ? bytes : -1));
    buf.write('zz', 2);
    socket.send(Buffer.from('BYE'), 0, 3, 5090, '::1', (error, bytes) => callbacks.push(error === null ? bytes : -1));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(callbacks).to.deep.equal([14, 3]);
    await endTurn(1);
    const [message] = posted as SendsMessage[];
    expect(message.type).to.equal('sends');
    expect(message.bytes).to.be.instanceOf(ArrayBuffer);
    expect(textsOf(message)).to.deep.equal(['SIP/2.0 200 OK', 'BYE']);
    const reader = new PackedReader(message);
    expect([reader.address(0), reader.port(0), reader.address(1), reader.port(1)]).to.deep.equal(['192.0.2.7', 5080, '::1', 5090]);
  });

  for (const count of [MAX_BATCH_DATAGRAMS, MAX_BATCH_DATAGRAMS + 1]) {
    it(`${count} sends in one turn: ${count > MAX_BATCH_DATAGRAMS ? 'a full batch at once, the rest at the end of the turn' : 'one batch, posted the moment it is full'}`, async () => {
      for (let k = 0; k < count; k++) socket.send(Buffer.from(`m${k}`), 0, `m${k}`.length, 5060, '192.0.2.1');
      await arrived(1);
      expect(textsOf(posted[0] as SendsMessage)).to.deep.equal(Array.from({ length: MAX_BATCH_DATAGRAMS }, (_, k) => `m${k}`));
      await endTurn(count > MAX_BATCH_DATAGRAMS ? 2 : 1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(posted.map((message) => textsOf(message as SendsMessage).length)).to.deep.equal(count > MAX_BATCH_DATAGRAMS ? [MAX_BATCH_DATAGRAMS, 1] : [MAX_BATCH_DATAGRAMS]);
      expect(textsOf(posted[posted.length - 1] as SendsMessage).at(-1)).to.equal(`m${count - 1}`);
    });
  }

  it('posts the answers to a received batch as one message when the batch is done, with no wait for the turn', async () => {
    socket.on('message', (buf, rinfo) => socket.send(buf, 0, buf.length, rinfo.port, rinfo.address));
    const message = batchOf(['a', 'b', 'c'].map((text) => ({ text, address: '192.0.2.1', port: 5060 })));
    edgeSide.postMessage(message, [message.bytes]);
    await arrived(1);
    expect(pendingFlush, 'nothing left for the end of the turn').to.equal(null);
    expect(textsOf(posted[0] as SendsMessage)).to.deep.equal(['a', 'b', 'c']);
  });

  it('posts its other messages behind the sends queued before them', async () => {
    socket.send(Buffer.from('a'), 0, 1, 5060, '192.0.2.1');
    socket.send(Buffer.from('b'), 0, 1, 5060, '192.0.2.1');
    socket.post({ type: 'unpin', callIds: ['x'] });
    socket.send(Buffer.from('c'), 0, 1, 5060, '192.0.2.1');
    await endTurn(3);
    expect(posted.map((message) => (message.type === 'sends' ? textsOf(message).join('') : message.type))).to.deep.equal(['ab', 'unpin', 'c']);
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

  it('close posts what is queued, stops listening, and send then reports it is closed', async () => {
    socket.send(Buffer.from('last'), 0, 4, 5060, '127.0.0.1');
    const closed = once(socket, 'close');
    socket.close();
    await closed;
    await arrived(1);
    expect(textsOf(posted[0] as SendsMessage)).to.deep.equal(['last']);
    const failure = await new Promise<Error | null>((resolve) => socket.send(Buffer.from('x'), 0, 1, 5060, '127.0.0.1', resolve));
    expect((failure as NodeJS.ErrnoException).code).to.equal('ERR_SOCKET_DGRAM_NOT_RUNNING');
    expect(workerSide.listenerCount('message')).to.equal(0);
  });
});
