import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import pino from 'pino';
import * as sip from 'sip';
import { WorkerCounters } from '../../../worker/calls/counters';
import { createSipStack, type DatagramSocket, type SipStack } from '../../../worker/sip/stack';
import type { SipRequest } from '../../../worker/sip/message';

/** A socket the test feeds and reads: what the stack sends is parsed back. */
class FakeSocket extends EventEmitter implements DatagramSocket {
  readonly sent: sip.SipMessage[] = [];
  send(buffer: Buffer, offset: number, length: number): void {
    const message = sip.parse(buffer.subarray(offset, offset + length));
    if (message !== undefined) this.sent.push(message);
  }
  close(): void {}
  receive(text: string, port = 5070): void {
    this.emit('message', Buffer.from(text, 'binary'), { address: '192.0.2.10', port });
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function invite(callId: string, method = 'INVITE'): string {
  return [
    `${method} sip:+4930901820@192.0.2.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK${callId}`,
    'To: <sip:+4930901820@192.0.2.1>',
    'From: <sip:caller@192.0.2.10>;tag=1',
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/**
 * The worker's SIP stack contains faults (issue 6: one datagram killed a worker): an exception in the call
 * path while handling a message drops that message (400 where a response is possible), is counted, is
 * logged once per kind and throw site, and the stack goes on.
 */
describe('SIP stack fault containment', () => {
  let socket: FakeSocket;
  let counters: WorkerCounters;
  let logLines: { msg: string; reason?: string }[];
  let stack: SipStack;
  let onRequest: (request: SipRequest) => void;
  let faults: string[];

  beforeEach(() => {
    faults = [];
    socket = new FakeSocket();
    counters = new WorkerCounters();
    logLines = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString()) as { msg: string; reason?: string });
        done();
      },
    });
    onRequest = () => undefined;
    stack = createSipStack({
      socket,
      publicAddress: '192.0.2.1',
      publicPort: 5060,
      logger: pino({ level: 'warn' }, destination),
      onRequest: (request) => onRequest(request),
      onDrop: (reason) => counters.drop(reason),
      onFault: (callId) => faults.push(callId),
    });
  });
  afterEach(() => stack.destroy());

  it('answers 400 to a request the call path threw on, counts it, logs the first, and handles the next', async () => {
    onRequest = (request) => {
      if (request.headers['call-id'].startsWith('boom')) throw new TypeError('call path bug');
      stack.reply(request, 200, 'OK');
    };

    socket.receive(invite('boom-1'));
    socket.receive(invite('boom-2'));
    socket.receive(invite('fine-1', 'OPTIONS'));
    await tick();

    expect(socket.sent.map((m) => [(m as sip.SipResponse).status, m.headers['call-id']])).to.deep.equal([
      [400, 'boom-1'],
      [400, 'boom-2'],
      [200, 'fine-1'],
    ]);
    expect(counters.snapshot().drops).to.deep.equal({ 'request-exception': 2 });
    expect(logLines.filter((line) => line.reason === 'request-exception')).to.have.length(1);
    expect(faults).to.deep.equal(['boom-1', 'boom-2']);
  });

  it('tells the call layer which Call-ID faulted, and contains a fault of that hook too', async () => {
    const aborted: string[] = [];
    const faulty = createSipStack({
      socket,
      publicAddress: '192.0.2.1',
      publicPort: 5060,
      logger: pino({ level: 'silent' }),
      onRequest: () => {
        throw new Error('call path bug');
      },
      onDrop: (reason) => counters.drop(reason),
      onFault: (callId) => {
        aborted.push(callId);
        throw new Error('abort bug');
      },
    });
    try {
      socket.receive(invite('twice'));
      await tick();
    } finally {
      faulty.destroy();
    }

    expect(aborted).to.deep.equal(['twice']);
    expect(socket.sent.map((m) => (m as sip.SipResponse).status)).to.include(400);
    expect(counters.snapshot().drops).to.deep.include({ 'request-exception': 1, 'fault-handler-exception': 1 });
  });

  it('sends no 400 after a final answer, and none for an ACK', async () => {
    onRequest = (request) => {
      if (request.method !== 'ACK') stack.reply(request, 486, 'Busy Here');
      throw new Error('after the answer');
    };

    socket.receive(invite('answered'));
    socket.receive(invite('ack', 'ACK'));
    await tick();

    expect(socket.sent.map((m) => (m as sip.SipResponse).status)).to.deep.equal([486]);
    expect(counters.snapshot().drops).to.deep.equal({ 'request-exception': 2 });
  });

  it('contains an exception in a response callback, from the network or from a timer', async () => {
    const seen: number[] = [];
    const origins: string[] = [];
    const request = sip.parse(invite('out-1', 'OPTIONS')) as unknown as SipRequest;
    request.headers.via = [];
    stack.send(request, { address: '192.0.2.20', port: 5060 }, (response, origin) => {
      seen.push(response.status);
      origins.push(origin);
      throw new Error('response handler bug');
    });
    await tick();
    const sent = socket.sent[0] as sip.SipRequest;
    const response = sip.makeResponse(sent, 200, 'OK');

    socket.receive(sip.stringify(response), 5060);
    await tick();

    expect(seen).to.deep.equal([200]);
    expect(counters.snapshot().drops).to.deep.equal({ 'response-exception': 1 });
    expect(faults).to.deep.equal(['out-1']);

    // A request that cannot be serialised: the stack reports a 503 from process.nextTick.
    const unprintable = sip.parse(invite('out-2', 'OPTIONS')) as unknown as SipRequest;
    unprintable.headers.via = [];
    unprintable.headers['x-unprintable'] = {
      toString(): string {
        throw new Error('cannot print this header');
      },
    };
    stack.send(unprintable, { address: '192.0.2.20', port: 5060 }, (response, origin) => {
      seen.push(response.status);
      origins.push(origin);
      throw new Error('response handler bug');
    });
    await tick();
    await tick();

    expect(seen).to.deep.equal([200, 503]);
    expect(origins).to.deep.equal(['wire', 'local'], 'the 503 is our own stack\'s');
    expect(counters.snapshot().drops).to.deep.equal({ 'response-exception': 2, 'transport-exception': 1 });
  });

  it('counts datagrams that are no SIP message, or lack a mandatory header, and logs the first of each', async () => {
    socket.receive('\x16\x03\x01 not sip\r\n\r\n');
    socket.receive('\x16\x03\x01 not sip\r\n\r\n');
    socket.receive(invite('no-from').replace(/From: [^\r]*\r\n/, ''));
    await tick();

    expect(counters.snapshot().drops).to.deep.equal({ unparsable: 2, 'missing-headers': 1 });
    expect(logLines.map((line) => line.reason)).to.deep.equal(['unparsable', 'missing-headers']);
  });

  it('answers the IPv6 Record-Route INVITE of issue 6 and relays it, throwing nothing', async () => {
    onRequest = (request) => {
      const forwarded = { ...request, uri: 'sip:pbx@192.0.2.30', headers: { ...request.headers, via: [...request.headers.via] } };
      stack.send(forwarded, { address: '192.0.2.30', port: 5060 }, () => undefined);
    };

    socket.receive(invite('v6').replace('CSeq:', 'Record-Route: <sip:[2001:db8::10]:5060;lr>\r\nCSeq:'));
    await tick();

    expect(socket.sent).to.have.length(1);
    expect(sip.stringify(socket.sent[0])).to.include('Record-Route:  <sip:[2001:db8::10]:5060;lr>');
    expect(counters.snapshot().drops).to.deep.equal({});
  });
});

describe('SIP stack: is this URI us?', () => {
  const socket = new FakeSocket();
  const logger = pino({ level: 'silent' });
  const stackAt = (publicAddress: string) => createSipStack({ socket, publicAddress, publicPort: 5060, logger, onRequest: () => undefined });

  it('compares the host case-insensitively, an IPv6 host with or without brackets, and the port (5060 when absent)', () => {
    const byName = stackAt('Proxy.Example.Test');
    const byV6 = stackAt('[2001:DB8::1]');
    try {
      expect(byName.isOwnUri('SIP:proxy.example.test;lr')).to.equal(true);
      expect(byName.isOwnUri('sip:proxy.example.test:5061;lr')).to.equal(false);
      expect(byName.isOwnUri('tel:+4930901820')).to.equal(false);
      expect(byV6.isOwnUri('sip:[2001:db8::1]:5060;lr')).to.equal(true);
      expect(byV6.isOwnUri('sip:[2001:db8::2];lr')).to.equal(false);
    } finally {
      byName.destroy();
      byV6.destroy();
    }
  });
});
