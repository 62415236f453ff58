import os from 'node:os';
import { ChannelCounter } from '../worker/calls/channel-counter';
import { Affinity } from '../worker/edge/affinity';
import { scanCallId } from '../worker/edge/call-id';
import { BENCH_SDP_LINES, measure as measureRounds } from './measure';

/**
 * Costs on the edge's per-datagram path and the worker's per-call admission, in one thread:
 * scanCallId per datagram, the edge's scan + affinity lookup + copy, and ChannelCounter
 * tryAcquire + release. Run: `npx tsc -p . --outDir /tmp/build-edge && node /tmp/build-edge/bench/edge-dispatch.js`.
 */

const ROUNDS = 7;
const measure = (iterations: number, body: (i: number) => unknown): number => measureRounds(iterations, body, ROUNDS);

/** A carrier INVITE as seen in the field: Call-ID after the Via, routing and identity headers. */
const INVITE = Buffer.from(
  [
    'INVITE sip:+493012345678@trunks.example.net SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---8f4c1e2b9a7d3c61;rport',
    'Max-Forwards: 69',
    'Record-Route: <sip:198.51.100.10;lr;ftag=as5f1b2c3d>',
    'Contact: <sip:+4917612345678@198.51.100.10:5060>',
    'To: <sip:+493012345678@trunks.example.net>',
    'From: "Caller" <sip:+4917612345678@carrier.example.com>;tag=as5f1b2c3d',
    'Call-ID: 3c26700b5f1e-4a7d@carrier.example.com',
    'CSeq: 102 INVITE',
    'User-Agent: Carrier SBC',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, PRACK, UPDATE',
    'Supported: replaces, timer',
    'Content-Type: application/sdp',
    'Content-Length: 264',
    '',
    ...BENCH_SDP_LINES,
  ].join('\r\n'),
);
const COMPACT_RESPONSE = Buffer.from('SIP/2.0 100 Trying\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: 77aa01@192.0.2.1\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n');
const NO_CALL_ID = Buffer.from(INVITE.toString('latin1').replace('Call-ID: 3c26700b5f1e-4a7d@carrier.example.com\r\n', ''), 'latin1');


function main(): void {
  const lines: string[] = [];
  const row = (name: string, ns: number): void => {
    lines.push(`${name.padEnd(68)} ${ns.toFixed(1).padStart(8)} ns/op  (${Math.round(1e9 / ns).toLocaleString('en')} /s)`);
  };

  row(`scanCallId, ${INVITE.length}-byte INVITE, Call-ID 8th header`, measure(2_000_000, () => scanCallId(INVITE)));
  row(`scanCallId, ${COMPACT_RESPONSE.length}-byte compact 100 Trying`, measure(2_000_000, () => scanCallId(COMPACT_RESPONSE)));
  row(`scanCallId, ${NO_CALL_ID.length}-byte INVITE without Call-ID (all headers)`, measure(2_000_000, () => scanCallId(NO_CALL_ID)));

  row(`copy of the ${INVITE.length}-byte datagram into its own ArrayBuffer`, measure(1_000_000, () => new Uint8Array(INVITE).buffer.byteLength));

  const affinity = new Affinity();
  for (let index = 0; index < 8; index++) affinity.addWorker(index);
  for (let k = 0; k < 100_000; k++) affinity.assign(`bulk-${k}@carrier.example.com`);
  affinity.assign('3c26700b5f1e-4a7d@carrier.example.com');
  row('edge dispatch minus postMessage: scan + assign (100k bound) + copy', measure(1_000_000, () => {
    const index = affinity.assign(scanCallId(INVITE) as string);
    return new Uint8Array(INVITE).buffer.byteLength + (index ?? 0);
  }));

  const buffers = ChannelCounter.create();
  const counter = ChannelCounter.attach(buffers, 0);
  const one = '6f1c2b9e-8a47-4d2e-9b1f-0c3d5e7a9b11';
  row('ChannelCounter tryAcquire + release, one trunk', measure(2_000_000, () => counter.tryAcquire(one, 100) && counter.release(one)));
  // Half the default table: the load factor the capacity is sized for.
  const trunks = Array.from({ length: 8192 }, (_, n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`);
  for (const trunk of trunks) counter.tryAcquire(trunk, 100);
  row('ChannelCounter tryAcquire + release, 8,192 trunks (50 % full)', measure(2_000_000, (i) => {
    const trunk = trunks[i & 8191];
    return counter.tryAcquire(trunk, 100) && counter.release(trunk);
  }));

  process.stdout.write(
    `edge dispatch micro-benchmark: Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, median of ${ROUNDS} rounds\n` +
      `ChannelCounter default size: ${ChannelCounter.byteLength().toLocaleString('en')} bytes\n${lines.join('\n')}\n`,
  );
}

main();
