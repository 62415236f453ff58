import dgram from 'node:dgram';

/**
 * The load for bench/edge-handoff.ts, in a process of its own so its CPU is not counted: sends
 * INVITE-sized datagrams with distinct Call-IDs to the bench's edge, paced at a rate or in bursts,
 * and times each one's round trip (edge → worker → edge → here) by the send time it carries.
 * Driven over IPC: `{ run }` → `{ done }`.
 */

export type LoadRun =
  | { readonly kind: 'rate'; readonly port: number; readonly perSecond: number; readonly durationMs: number }
  | { readonly kind: 'burst'; readonly port: number; readonly size: number; readonly rounds: number };

export interface LoadResult {
  readonly sent: number;
  readonly answered: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A carrier INVITE's size: the hand-off copies bytes, so their number matters a little. */
const PADDING = 'x'.repeat(760);
/** A turn of the pacing loop: at 10,000/s, ten datagrams each. */
const PACE_MS = 1;
/** Replies still missing this long after the last send are counted as lost. */
const DRAIN_MS = 2000;

function datagram(seq: number): Buffer {
  const sentAt = performance.now().toFixed(3);
  return Buffer.from(`INVITE sip:+4930123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK${seq}\r\nCall-ID: load-${seq}@bench\r\nX-Sent: ${sentAt}\r\nX-Padding: ${PADDING}\r\n\r\n`, 'latin1');
}

async function run(spec: LoadRun): Promise<LoadResult> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(8 * 1024 * 1024);
  const rtts: number[] = [];
  let awaiting: (() => void) | null = null;
  socket.on('message', (msg) => {
    const text = msg.toString('latin1');
    const at = text.indexOf('X-Sent: ');
    if (at >= 0) rtts.push(performance.now() - Number(text.slice(at + 8, text.indexOf('\r', at))));
    awaiting?.();
  });
  let sent = 0;
  const send = (): void => {
    socket.send(datagram(sent), spec.port, '127.0.0.1');
    sent++;
  };
  const answeredAll = (target: number, timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      awaiting = () => {
        if (rtts.length < target) return;
        clearTimeout(timer);
        awaiting = null;
        resolve();
      };
      awaiting();
    });
  if (spec.kind === 'rate') {
    const began = performance.now();
    while (performance.now() - began < spec.durationMs) {
      const due = Math.floor(((performance.now() - began) / 1000) * spec.perSecond);
      while (sent < due) send();
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    }
    await answeredAll(sent, DRAIN_MS);
  } else {
    for (let round = 0; round < spec.rounds; round++) {
      for (let k = 0; k < spec.size; k++) send();
      await answeredAll(sent, DRAIN_MS);
    }
  }
  socket.close();
  const sorted = [...rtts].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { sent, answered: rtts.length, p50Ms: at(0.5), p99Ms: at(0.99) };
}

if (require.main === module) {
  process.on('message', (message: { run: LoadRun }) => {
    void run(message.run).then((done) => process.send?.({ done }));
  });
}
