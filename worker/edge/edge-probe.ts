import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SojournGuard, type SojournStats } from '../calls/sojourn-guard';
import { handoffNow } from './handoff-clock';

/**
 * The edge's overload signal: how long a datagram waits between arriving at the node and the
 * edge's loop reading it. Node cannot tell how full the socket's receive queue is, so the edge
 * measures it: while datagrams come in, it sends itself a small probe from its own socket every
 * `PROBE_EVERY_MS`. The probe queues behind whatever is already waiting (a UDP receive queue is
 * first in, first out) and is read by the same loop, so its sojourn is what a carrier's INVITE
 * waits at that moment: the kernel queue plus the loop's own delay. Time the thread waits for a
 * CPU counts only when a queue builds up behind it. The sojourns are judged by a SojournGuard
 * (calls/sojourn-guard.ts), as each worker judges the datagrams it is handed.
 *
 * A probe carries a secret chosen at start, so no datagram from outside passes for one. A probe
 * the kernel drops from a full queue adds no observation: the others, queued behind the same
 * datagrams, tell. If none ever comes back (a host firewall on loopback), the signal is silent,
 * the edge never sheds on it, and a warning says so.
 */

/** Five probes per CoDel interval while traffic flows; none while the socket is quiet. */
export const PROBE_EVERY_MS = 20;
/**
 * With no probe back for this long, the edge is no longer overloaded: no traffic came (no probe
 * was sent), or the probes are lost. Longer than any probe takes that is not lost: a full receive
 * queue (4 MiB, edge.ts) lasts a few hundred milliseconds at the pace the edge reads.
 */
export const PROBE_QUIET_MS = 1_000;
/** After this many probes with none back, the operator is told the edge has no overload signal. */
const PROBES_BEFORE_WARNING = 250;

/** Secret (its first byte 0, which no SIP message or keep-alive starts with), then the send time. */
const SECRET_BYTES = 16;
const PROBE_BYTES = SECRET_BYTES + 8;

/** Sends one datagram from the edge's socket (the edge passes its socket's `send`). */
export type SendProbe = (bytes: Buffer, port: number, address: string) => void;

export interface ProbeStats extends SojournStats {
  readonly probesSent: number;
  readonly probesReturned: number;
}

export class EdgeProbe {
  private readonly secret = randomBytes(SECRET_BYTES);
  private timer: NodeJS.Timeout | null = null;
  private traffic = false;
  private sent = 0;
  private returned = 0;
  private warned = false;

  /** `address`/`port`: where the edge's socket is reached from this host (see `selfAddress`). */
  constructor(
    private readonly send: SendProbe,
    private readonly address: string,
    private readonly port: number,
    private readonly logger: Logger,
    readonly guard: SojournGuard = new SojournGuard({ quietMs: PROBE_QUIET_MS }),
    private readonly now: () => number = handoffNow,
  ) {
    this.secret[0] = 0;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** A datagram came in: the next tick sends a probe. */
  noteTraffic(): void {
    this.traffic = true;
  }

  /** Sends a probe if datagrams came in since the previous tick. */
  tick(): void {
    this.guard.tick(this.now());
    if (!this.traffic) return;
    this.traffic = false;
    const probe = Buffer.allocUnsafe(PROBE_BYTES);
    this.secret.copy(probe, 0);
    probe.writeDoubleLE(this.now(), SECRET_BYTES);
    this.sent++;
    try {
      this.send(probe, this.port, this.address);
    } catch (err) {
      this.logger.debug({ err }, 'edge probe not sent');
    }
    if (this.returned === 0 && this.sent === PROBES_BEFORE_WARNING && !this.warned) {
      this.warned = true;
      this.logger.warn({ address: this.address, port: this.port, sent: this.sent }, 'no edge probe came back: the edge cannot see its own overload and will not shed on it');
    }
  }

  /** True when `msg` is one of our probes (taken, observed); false for any other datagram. */
  take(msg: Buffer): boolean {
    if (msg.length !== PROBE_BYTES || msg[0] !== 0 || msg.compare(this.secret, 0, SECRET_BYTES, 0, SECRET_BYTES) !== 0) return false;
    const now = this.now();
    const sentAt = msg.readDoubleLE(SECRET_BYTES);
    this.returned++;
    if (sentAt <= now) this.guard.observe(now, now - sentAt);
    return true;
  }

  stats(): ProbeStats {
    return { ...this.guard.stats(), probesSent: this.sent, probesReturned: this.returned };
  }
}

/** Where a socket bound to `address` is reached from its own host: the wildcard addresses mean loopback. */
export function selfAddress(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}
