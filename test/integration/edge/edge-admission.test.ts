import dgram from 'node:dgram';
import { once } from 'node:events';
import path from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Affinity } from '../../../worker/edge/affinity';
import { createEdge, type Edge } from '../../../worker/edge/edge';
import { EdgeLoad } from '../../../worker/edge/edge-load';
import { Supervisor } from '../../../worker/edge/supervisor';
import type { EchoWorkerData } from '../../support/echo-worker';

const ECHO_WORKER = path.join(__dirname, '..', '..', 'support', 'echo-worker.js');
const logger = pino({ level: 'silent' });
const T1_MS = 500;

function sipRequest(method: string, callId: string, options: { toTag?: string; cseqMethod?: string } = {}): Buffer {
  const to = `<sip:+4930123@127.0.0.1>${options.toTag === undefined ? '' : `;tag=${options.toTag}`}`;
  return Buffer.from(
    `${method} sip:+4930123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5060;rport;branch=z9hG4bK-${callId}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:+4930901820@carrier.test>;tag=f1\r\nTo: ${to}\r\nCall-ID: ${callId}\r\nCSeq: 1 ${options.cseqMethod ?? method}\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

/** A UDP peer on a loopback address of its choice that keeps every datagram it gets. */
class Peer {
  readonly socket = dgram.createSocket('udp4');
  readonly inbox: string[] = [];

  async open(address: string): Promise<this> {
    this.socket.on('message', (msg) => this.inbox.push(msg.toString('latin1')));
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
    return this;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(edge: Edge, datagram: Buffer): void {
    this.socket.send(datagram, edge.address().port, '127.0.0.1');
  }

  async next(timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no datagram came');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.inbox.shift() as string;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(resolve));
  }
}

/** Every datagram received so far has been answered when a marker sent after them has. */
async function settle(peer: Peer, edge: Edge, marker: string): Promise<void> {
  peer.send(edge, sipRequest('OPTIONS', marker));
  for (;;) if ((await peer.next()).includes(`Call-ID: ${marker}\r\n`)) return;
}

describe('SIP edge admission (real socket, echo workers)', () => {
  let supervisor: Supervisor;
  let affinity: Affinity;
  let edge: Edge;
  let carrier: Peer;
  let stranger: Peer;
  let registry: Registry;
  let behind: boolean;
  let load: EdgeLoad;

  async function start(restartBackoff = { initialMs: 20, maxMs: 100 }): Promise<void> {
    supervisor = new Supervisor({ script: ECHO_WORKER, workerData: (index): EchoWorkerData => ({ index }), count: 2, logger, restartBackoff, stopGraceMs: 300 });
    await supervisor.start();
    affinity = new Affinity();
    registry = new Registry();
    behind = false;
    // The edge's overload signal as the test says (`behind`), read in the samples the test takes with `load.sample()`.
    load = new EdgeLoad({ isOverloaded: () => behind }, null);
    edge = await createEdge({ host: '127.0.0.1', port: 0, supervisor, affinity, logger, metrics: registry, load });
    carrier = await new Peer().open('127.0.0.1');
    stranger = await new Peer().open('127.0.0.3');
  }

  function knowCarriers(sourceCidrs = ['127.0.0.1/32']): void {
    // What worker-main posts for its snapshot; the echo worker has none, so the test posts it.
    supervisor.emit('message', 0, { type: 'carriers', version: 1, sourceCidrs });
  }

  afterEach(async () => {
    await carrier.close();
    await stranger.close();
    await edge.close();
    await supervisor.stop();
  });

  it('until the carriers are known, passes a stranger\'s INVITE on to a worker', async () => {
    await start();
    stranger.send(edge, sipRequest('INVITE', 'early@x'));
    expect(await stranger.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: [01]/);
    expect(edge.stats().refused['untrusted-source']).to.equal(0);
  });

  it('answers a stranger\'s INVITE with one stateless 403: no worker, no pin, no retransmission; absorbs its ACK', async () => {
    await start();
    knowCarriers();
    stranger.send(edge, sipRequest('INVITE', 'stranger-1@x'));
    const answer = await stranger.next();
    const tag = /\r\nTo: <sip:\+4930123@127\.0\.0\.1>;tag=(sl[0-9a-f]{8})\r\n/.exec(answer)?.[1];
    expect(answer.startsWith('SIP/2.0 403 Forbidden\r\n')).to.equal(true);
    expect(answer).to.contain(`Via: SIP/2.0/UDP 127.0.0.9:5060;rport=${stranger.port};branch=z9hG4bK-stranger-1@x;received=127.0.0.3\r\n`);
    expect(tag).to.be.a('string');
    // The retransmitted INVITE gets the same answer again, with the same tag (RFC 3261 section 8.2.6.2).
    stranger.send(edge, sipRequest('INVITE', 'stranger-1@x'));
    expect(await stranger.next()).to.equal(answer);
    stranger.send(edge, sipRequest('ACK', 'stranger-1@x', { toTag: tag }));
    await new Promise((resolve) => setTimeout(resolve, 2 * T1_MS + 100));
    expect(stranger.inbox, 'nothing retransmitted, the ACK not echoed by a worker').to.deep.equal([]);
    expect(edge.stats()).to.include({ dispatched: 0, pins: 0, statelessSent: 2, acksAbsorbed: 1, refusedUnanswered: 0 });
    expect(edge.stats().refused).to.deep.equal({ 'untrusted-source': 2, 'no-worker': 0, 'edge-overload': 0, 'worker-overload': 0, 'no-dialog': 0 });
    expect(await registry.getSingleMetricAsString('sip_edge_invites_refused_total')).to.contain('sip_edge_invites_refused_total{reason="untrusted-source"} 2');
  });

  it('judges only out-of-dialog INVITEs: a stranger\'s REGISTER, OPTIONS and an ACK with another tag go on to a worker', async () => {
    await start();
    knowCarriers();
    for (const datagram of [sipRequest('REGISTER', 'r@x'), sipRequest('OPTIONS', 'o@x'), sipRequest('ACK', 'a@x', { toTag: 'pbx1' })]) {
      stranger.send(edge, datagram);
      expect(await stranger.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    }
    expect(edge.stats()).to.include({ dispatched: 3, statelessSent: 0, pins: 0 });
  });

  it('answers a re-INVITE whose Call-ID no worker holds with one stateless 481, from anyone: no worker, no pin', async () => {
    await start();
    knowCarriers();
    for (const peer of [stranger, carrier]) {
      const callId = `reinvite-${peer.port}@x`;
      peer.send(edge, sipRequest('INVITE', callId, { toTag: 'pbx1' }));
      const answer = await peer.next();
      expect(answer.startsWith('SIP/2.0 481 Call/Transaction Does Not Exist\r\n')).to.equal(true);
      // The request's To tag is the dialog's: it is kept, none added (RFC 3261 section 12.2.2).
      expect(answer).to.contain('\r\nTo: <sip:+4930123@127.0.0.1>;tag=pbx1\r\n');
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * T1_MS + 100));
    expect(stranger.inbox, 'sent once, never retransmitted').to.deep.equal([]);
    expect(carrier.inbox).to.deep.equal([]);
    expect(edge.stats()).to.include({ dispatched: 0, pins: 0, statelessSent: 2, refusedUnanswered: 0 });
    expect(edge.stats().refused).to.include({ 'no-dialog': 2, 'untrusted-source': 0 });
  });

  it('a flood of made-up re-INVITEs leaves the pins as they were, and is dropped unanswered while the edge is flooded', async () => {
    await start();
    knowCarriers();
    carrier.send(edge, sipRequest('INVITE', 'live@carrier'));
    await carrier.next();
    expect(edge.stats().pins).to.equal(1);
    behind = true;
    // The signal says the loop is behind, but no sample has been taken yet: the edge still answers.
    for (let k = 0; k < 200; k++) stranger.send(edge, sipRequest('INVITE', `made-up-${k}@x`, { toTag: `t${k}` }));
    await settle(stranger, edge, 'marker-1@x');
    expect(edge.stats()).to.include({ pins: 1, dispatched: 2, statelessSent: 200 });
    expect(edge.stats().refused['no-dialog']).to.equal(200);
    load.sample();
    expect(edge.stats().pressure).to.equal('flooded');
    stranger.inbox.length = 0;
    for (let k = 0; k < 50; k++) stranger.send(edge, sipRequest('INVITE', `made-up-again-${k}@x`, { toTag: 'x' }));
    await settle(stranger, edge, 'marker-2@x');
    expect(edge.stats()).to.include({ pins: 1, statelessSent: 200, refusedUnanswered: 50 });
    expect(edge.stats().refused['no-dialog']).to.equal(250);
  });

  it('passes a carrier\'s INVITE, and a stranger\'s INVITE whose Call-ID a worker already holds', async () => {
    await start();
    knowCarriers();
    carrier.send(edge, sipRequest('INVITE', 'call-1@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    stranger.send(edge, sipRequest('INVITE', 'call-1@carrier'));
    expect(await stranger.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    expect(edge.stats()).to.include({ dispatched: 2, statelessSent: 0 });
  });

  it('drops a stranger\'s INVITE it cannot answer, and counts it', async () => {
    await start();
    knowCarriers();
    stranger.send(edge, Buffer.from('INVITE sip:a@b SIP/2.0\r\nCall-ID: no-via@x\r\nCSeq: 1 INVITE\r\n\r\n', 'latin1'));
    await settle(stranger, edge, 'marker@x');
    // The marker OPTIONS reached a worker and, opening no call, pinned nothing.
    expect(edge.stats()).to.include({ dispatched: 1, pins: 0, refusedUnanswered: 1 });
  });

  it('answers a new INVITE with 503 and Retry-After when no worker is live, instead of dropping it', async () => {
    await start({ initialMs: 60_000, maxMs: 60_000 });
    knowCarriers();
    const gone = [once(supervisor, 'exit'), once(supervisor, 'exit')];
    await Promise.all([supervisor.kill(0), supervisor.kill(1)]);
    await Promise.all(gone);
    carrier.send(edge, sipRequest('INVITE', 'nobody-home@carrier'));
    const answer = await carrier.next();
    expect(answer.startsWith('SIP/2.0 503 Service Unavailable\r\n')).to.equal(true);
    expect(answer).to.contain('\r\nRetry-After: 5\r\n');
    // Anything else still has nowhere to go.
    carrier.send(edge, sipRequest('BYE', 'nobody-home@carrier', { toTag: 'x' }));
    stranger.send(edge, sipRequest('INVITE', 'stranger-2@x'));
    expect((await stranger.next()).startsWith('SIP/2.0 403 Forbidden\r\n')).to.equal(true);
    expect(edge.stats().dropped['no-worker']).to.equal(1);
    expect(edge.stats().refused).to.deep.equal({ 'untrusted-source': 1, 'no-worker': 1, 'edge-overload': 0, 'worker-overload': 0, 'no-dialog': 0 });
  });

  it('with its loop behind on real traffic, sheds new INVITEs with 503 while calls in progress and responses pass', async () => {
    await start();
    knowCarriers();
    carrier.send(edge, sipRequest('INVITE', 'up@carrier'));
    await carrier.next();
    behind = true;
    load.sample();
    expect(edge.stats().pressure).to.equal('overloaded');
    carrier.send(edge, sipRequest('INVITE', 'shed@carrier'));
    const answer = await carrier.next();
    expect(answer.startsWith('SIP/2.0 503 Service Unavailable\r\n')).to.equal(true);
    expect(answer).to.contain('\r\nRetry-After: 1\r\n');
    carrier.send(edge, sipRequest('BYE', 'up@carrier', { toTag: 'x' }));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    carrier.send(edge, Buffer.from('SIP/2.0 180 Ringing\r\nCall-ID: leg@us\r\nCSeq: 1 INVITE\r\n\r\n', 'latin1'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    expect(edge.stats().refused['edge-overload']).to.equal(1);
    expect(affinity.workerOf('shed@carrier')).to.equal(undefined);
  });

  it('places a new INVITE on a worker that is not overloaded, refuses it itself while every worker is; calls in progress pass', async () => {
    await start();
    knowCarriers();
    // Both workers hold no call: a new one would go to worker 0 (the lower index breaks the tie), which is overloaded.
    supervisor.emit('message', 0, { type: 'overload', overloaded: true });
    expect(edge.stats().overloadedWorkers).to.equal(1);
    carrier.send(edge, sipRequest('INVITE', 'placed@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: 1\r\n/);
    supervisor.emit('message', 1, { type: 'overload', overloaded: true });
    carrier.send(edge, sipRequest('INVITE', 'shed@carrier'));
    const answer = await carrier.next();
    expect(answer.startsWith('SIP/2.0 503 Service Unavailable\r\n')).to.equal(true);
    expect(answer).to.contain('\r\nRetry-After: 1\r\n');
    expect(affinity.workerOf('shed@carrier')).to.equal(undefined);
    supervisor.emit('message', 0, { type: 'overload', overloaded: false });
    carrier.send(edge, sipRequest('INVITE', 'taken@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: 0\r\n/);
    supervisor.emit('message', 0, { type: 'overload', overloaded: true });
    carrier.send(edge, sipRequest('BYE', 'taken@carrier', { toTag: 'x' }));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: 0\r\n/);
    expect(edge.stats().refused).to.include({ 'worker-overload': 1, 'edge-overload': 0 });
  });

  it('forgets the overload of a worker that is gone: its restarted thread takes new calls', async () => {
    await start();
    knowCarriers();
    carrier.send(edge, sipRequest('INVITE', 'held@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: 0\r\n/);
    supervisor.emit('message', 1, { type: 'overload', overloaded: true });
    const back = once(supervisor, 'ready');
    await supervisor.kill(1);
    await back;
    expect(edge.stats().overloadedWorkers).to.equal(0);
    carrier.send(edge, sipRequest('INVITE', 'admitted@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker: 1\r\n/);
    expect(edge.stats().refused['worker-overload']).to.equal(0);
  });

  it('with its loop behind on refused traffic, stops answering strangers and keeps admitting carriers', async () => {
    await start();
    knowCarriers();
    behind = true;
    // A sample of a loop behind, of mostly refused datagrams: a flood. Until that sample, strangers are answered.
    for (let k = 0; k < 20; k++) stranger.send(edge, sipRequest('INVITE', `flood-0-${k}@x`));
    await settle(stranger, edge, 'marker-0@x');
    load.sample();
    expect(edge.stats().pressure).to.equal('flooded');
    const answeredBefore = edge.stats().statelessSent;
    expect(answeredBefore).to.equal(20);
    for (let k = 0; k < 20; k++) stranger.send(edge, sipRequest('INVITE', `flood-2-${k}@x`));
    carrier.send(edge, sipRequest('INVITE', 'admitted@carrier'));
    expect(await carrier.next()).to.match(/^SIP\/2\.0 200 OK\r\nX-Worker/);
    await settle(stranger, edge, 'marker-2@x');
    expect(edge.stats()).to.include({ statelessSent: answeredBefore, refusedUnanswered: 20 });
  });
});
