import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { EdgeAdmission } from './admission';
import type { Affinity } from './affinity';
import { scanCallId, startsWith } from './call-id';
import { EdgeFaults } from './edge-faults';
import { EdgeLoad, type EdgePressure } from './edge-load';
import { EDGE_DROP_REASONS, registerEdgeMetrics, type EdgeDropReason, type EdgeStats } from './edge-metrics';
import { EdgeProbe, selfAddress } from './edge-probe';
import { WorkerSends } from './edge-sends';
import { bind, setBufferSize } from './edge-socket';
import { Handoff } from './handoff';
import { handoffNow } from './handoff-clock';
import type { WorkerToEdge } from './protocol';
import { Refusals, type RefusalReason } from './refusals';
import { scanRequest, scanToTag, statelessResponse, StatelessTags, type ScannedRequest } from './stateless-response';
import type { Supervisor } from './supervisor';
import { OVERLOAD_RETRY_AFTER_S } from '../calls/sojourn-guard';

export type { EdgeDropReason, EdgeStats } from './edge-metrics';

/**
 * The SIP edge: the main thread of the SIP process owns the one UDP socket (DESIGN section 3: dgram
 * has no working reusePort, so threads cannot share the port). Each received datagram goes to the
 * worker that owns its Call-ID; what workers post is sent from this socket, so every packet leaves
 * from the address the peer knows.
 */

/** Kernel default receive/send buffers drop bursts of INVITEs; 4 MiB absorbs several thousand. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Idle pins expire in minutes; sweeping every minute keeps the table close to the truth. */
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** A restarting worker is back within seconds unless it crash-loops; the carrier retries elsewhere meanwhile. */
export const NO_WORKER_RETRY_AFTER_S = 5;

/** Request lines the edge looks at before handing a datagram on (methods are case-sensitive, RFC 3261 section 7.1). */
const INVITE_LINE = Buffer.from('INVITE ', 'latin1');
const ACK_LINE = Buffer.from('ACK ', 'latin1');

export interface EdgeOptions {
  readonly host: string;
  readonly port: number;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  readonly supervisor: Supervisor;
  readonly affinity: Affinity;
  readonly logger: Logger;
  /** Registers the edge's counters here (read from `stats()` at scrape time, nothing on the hot path). */
  readonly metrics?: Registry;
  readonly sweepIntervalMs?: number;
  /** The edge's load; tests pass one with a stub overload signal, sampled by hand. Default: judged on the edge's probes. */
  readonly load?: EdgeLoad;
}

export interface Edge {
  address(): AddressInfo;
  stats(): EdgeStats;
  close(): Promise<void>;
}

/** Binds the socket and starts dispatching. Rejects with a clear error when the port is taken. */
export async function createEdge(options: EdgeOptions): Promise<Edge> {
  const logger = options.logger.child({ module: 'sip-edge' });
  // No reuseAddr: with it a second process would silently take the port's traffic (DESIGN section 3).
  const socket = dgram.createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });
  await bind(socket, options.host, options.port);
  // The sizes can only be set on a bound socket.
  setBufferSize(socket, 'receive', options.recvBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES, logger);
  setBufferSize(socket, 'send', options.sendBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES, logger);
  const edge = new UdpEdge(socket, options, logger);
  logger.debug({ ...edge.address() }, 'SIP edge bound');
  return edge;
}

class UdpEdge implements Edge {
  private readonly supervisor: Supervisor;
  private readonly affinity: Affinity;
  private received = 0;
  private dispatched = 0;
  private readonly dropped = Object.fromEntries(EDGE_DROP_REASONS.map((reason) => [reason, 0])) as Record<EdgeDropReason, number>;
  /** Sends of the edge's own answers that failed; the workers' are counted in `sends`. */
  private sendErrors = 0;
  private socketErrors = 0;
  private statelessSent = 0;
  private acksAbsorbed = 0;
  private readonly admission = new EdgeAdmission();
  private readonly tags = new StatelessTags(randomInt(2 ** 32));
  private readonly load: EdgeLoad;
  private readonly probe: EdgeProbe;
  private readonly handoff: Handoff;
  private readonly sends: WorkerSends;
  /** Workers whose last `overload` message said they are overloaded. */
  private readonly overloadedWorkers = new Set<number>();
  private readonly refusals: Refusals;
  private readonly faults: EdgeFaults;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly unregisterMetrics: () => void;
  private closing: Promise<void> | null = null;

  private readonly onReady = (index: number): void => this.affinity.addWorker(index);
  private readonly onDraining = (index: number): void => this.affinity.drainWorker(index);
  private readonly onGone = (index: number): void => {
    this.overloadedWorkers.delete(index);
    const dropped = this.affinity.dropWorker(index);
    this.logger.info({ worker: index, pins: dropped }, 'dropped the Call-ID pins of a SIP worker that is gone');
  };
  private readonly onWorkerMessage = (index: number, message: WorkerToEdge): void => {
    try {
      this.handleWorkerMessage(index, message);
    } catch (err) {
      this.dropped['edge-exception']++;
      this.faults.contain('worker-message', err, { worker: index, type: message.type });
    }
  };

  constructor(
    private readonly socket: dgram.Socket,
    options: EdgeOptions,
    private readonly logger: Logger,
  ) {
    this.supervisor = options.supervisor;
    this.affinity = options.affinity;
    const self = socket.address();
    this.probe = new EdgeProbe((bytes, port, address) => socket.send(bytes, port, address, () => undefined), selfAddress(self.address), self.port, logger);
    this.probe.start();
    this.load = options.load ?? new EdgeLoad(this.probe.guard);
    this.load.start();
    this.handoff = new Handoff(
      (index, message, transfer) => {
        if (!this.supervisor.send(index, message, transfer)) return false;
        this.dispatched += message.count;
        return true;
      },
      (index, count) => {
        this.dropped['worker-unavailable'] += count;
        this.logger.debug({ reason: 'worker-unavailable', worker: index, count }, 'datagrams dropped');
      },
    );
    this.refusals = new Refusals(logger);
    this.refusals.start();
    this.faults = new EdgeFaults(logger);
    this.sends = new WorkerSends(socket, this.affinity, this.supervisor, logger, (index, err) => {
      this.dropped['edge-exception']++;
      this.faults.contain('worker-message', err, { worker: index, type: 'sends' });
    });
    for (const index of this.supervisor.readyWorkers()) this.affinity.addWorker(index);
    this.supervisor.on('ready', this.onReady);
    this.supervisor.on('draining', this.onDraining);
    this.supervisor.on('exit', this.onGone);
    this.supervisor.on('stopped', this.onGone);
    this.supervisor.on('message', this.onWorkerMessage);
    socket.on('message', (msg, rinfo) => {
      if (this.probe.take(msg)) return;
      const receivedAt = handoffNow();
      this.received++;
      this.probe.noteTraffic();
      let refused = false;
      try {
        refused = this.dispatch(msg, rinfo, receivedAt);
      } catch (err) {
        // A fault costs this datagram, never the node (issue 6): the peer retransmits or gives up.
        this.dropped['edge-exception']++;
        this.faults.contain('datagram', err, { address: rinfo.address, port: rinfo.port, size: rinfo.size });
      }
      this.load.count(refused);
    });
    socket.on('error', (err) => {
      this.socketErrors++;
      this.logger.error({ err }, 'SIP UDP socket error');
    });
    this.sweepTimer = setInterval(() => {
      const removed = this.affinity.sweep();
      if (removed > 0) this.logger.info({ removed }, 'expired idle Call-ID pins');
    }, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    this.unregisterMetrics = options.metrics ? registerEdgeMetrics(options.metrics, () => this.stats()) : () => undefined;
  }

  address(): AddressInfo {
    return this.socket.address();
  }

  stats(): EdgeStats {
    return {
      received: this.received,
      dispatched: this.dispatched,
      dropped: { ...this.dropped },
      sent: this.sends.sent,
      sendErrors: this.sendErrors + this.sends.sendErrors,
      socketErrors: this.socketErrors,
      pins: this.affinity.size(),
      refused: { ...this.refusals.counts },
      refusedUnanswered: this.refusals.unanswered,
      statelessSent: this.statelessSent,
      acksAbsorbed: this.acksAbsorbed,
      carrierCidrCount: this.admission.sourceCidrCount(),
      pressure: this.load.pressure(),
      probe: this.probe.stats(),
      overloadedWorkers: this.overloadedWorkers.size,
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.sweepTimer);
      this.handoff.flush();
      this.probe.stop();
      this.load.stop();
      this.refusals.stop();
      this.supervisor.off('ready', this.onReady);
      this.supervisor.off('draining', this.onDraining);
      this.supervisor.off('exit', this.onGone);
      this.supervisor.off('stopped', this.onGone);
      this.supervisor.off('message', this.onWorkerMessage);
      this.unregisterMetrics();
      this.socket.close(resolve);
    });
    return this.closing;
  }

  /**
   * Queues a datagram for its worker (handoff.ts: one message per worker and turn), or answers it
   * here; true when the edge refused it itself.
   */
  private dispatch(msg: Buffer, rinfo: dgram.RemoteInfo, receivedAt: number): boolean {
    const callId = scanCallId(msg);
    if (callId === null) {
      this.drop('no-call-id', rinfo);
      return false;
    }
    // A pinned Call-ID belongs to a worker whatever it carries: retransmissions, in-dialog requests.
    let opensCall = false;
    if (this.affinity.workerOf(callId) === undefined) {
      const judged = this.judgeUnpinned(msg, callId, rinfo);
      if (judged === 'refused' || judged === 'answered') return judged === 'refused';
      opensCall = judged === 'new-call';
    }
    // Only a new call pins its Call-ID here; anything else is routed by its pin or a hash.
    const index = opensCall ? this.affinity.assign(callId, this.overloadedWorkers) : this.affinity.route(callId);
    if (index === null) {
      this.drop('no-worker', rinfo);
      return false;
    }
    // Copied into the worker's batch: `msg` may view a larger pooled allocation, never transferred.
    this.handoff.add(index, msg, rinfo.address, rinfo.port, receivedAt);
    return false;
  }

  /**
   * An INVITE or ACK whose Call-ID no worker holds. An INVITE with a To tag belongs to no dialog
   * of ours: the INVITE that opened each of them pinned its Call-ID, and workers keep the pins
   * of live dialogs (protocol.ts `KeepMessage`). It gets 481 (RFC 3261 section 12.2.2) from
   * whoever sent it. An out-of-dialog INVITE (no To tag) is judged (DESIGN section 4 step 1):
   * from a source that is no carrier it gets 403; when no worker takes calls, this loop is behind
   * on real traffic, or every worker taking calls is overloaded, 503 with Retry-After; otherwise
   * it is a `new-call`, the only kind that pins its Call-ID. An ACK carrying the To tag of one of
   * our stateless answers ends here (section 17.1.1.3: it only confirms that answer). Nothing
   * refused or answered here pins a Call-ID or reaches a worker.
   *
   * Ordered by cost, since a flood comes through here: the To line and the source are read
   * first, the whole request only when a response is to be built. While the loop is flooded,
   * what a stranger could have sent (481s, 403s) is dropped unanswered: a drop costs a fraction
   * of a send, and this loop is what the flood spends.
   */
  private judgeUnpinned(msg: Buffer, callId: string, rinfo: dgram.RemoteInfo): 'new-call' | 'pass' | 'refused' | 'answered' {
    if (startsWith(msg, ACK_LINE)) {
      if (!this.tags.isStatelessTag(callId, scanToTag(msg) ?? null)) return 'pass';
      this.acksAbsorbed++;
      return 'refused';
    }
    if (!startsWith(msg, INVITE_LINE)) return 'pass';
    const toTag = scanToTag(msg);
    const pressure = this.load.pressure();
    const flooded = pressure === 'flooded';
    if (typeof toTag === 'string') {
      this.refuse('no-dialog', flooded ? null : scanRequest(msg), callId, 481, 'Call/Transaction Does Not Exist', [], rinfo);
      return 'refused';
    }
    if (this.admission.judge(rinfo.address) === 'stranger') {
      this.refuse('untrusted-source', toTag === undefined || flooded ? null : scanRequest(msg), callId, 403, 'Forbidden', [], rinfo);
      return 'refused';
    }
    // An INVITE these scans cannot read opens nothing: a worker's parser decides (400 or drop).
    if (toTag === undefined) return 'pass';
    const refusal = this.newCallRefusal(pressure);
    if (refusal === null) return 'new-call';
    const request = scanRequest(msg);
    if (request === null || request.toTag !== null) return 'pass';
    const retryAfterS = refusal === 'no-worker' ? NO_WORKER_RETRY_AFTER_S : OVERLOAD_RETRY_AFTER_S;
    this.refuse(refusal, request, callId, 503, 'Service Unavailable', [['Retry-After', String(retryAfterS)]], rinfo);
    return 'answered';
  }

  /**
   * Why a carrier's new call cannot be taken now, or null when it can. A new call goes to the least
   * loaded worker that is not overloaded (affinity.ts); when every worker taking calls is, refusing
   * here spares them the INVITE, the 503's transaction and the ACK, which they could not afford.
   */
  private newCallRefusal(pressure: EdgePressure): 'no-worker' | 'edge-overload' | 'worker-overload' | null {
    if (!this.affinity.acceptsNew()) return 'no-worker';
    if (pressure === 'overloaded') return 'edge-overload';
    if (this.affinity.leastLoaded(this.overloadedWorkers) === null) return 'worker-overload';
    return null;
  }

  /** Counts the refusal and sends its one response, when there is a request to answer. */
  private refuse(
    reason: RefusalReason,
    request: ScannedRequest | null,
    callId: string,
    status: number,
    statusText: string,
    headers: readonly (readonly [string, string])[],
    rinfo: dgram.RemoteInfo,
  ): void {
    const response =
      request === null ? null : statelessResponse(request, { status, reason: statusText, toTag: this.tags.tagFor(callId), source: rinfo, headers });
    this.refusals.note(reason, rinfo.address, rinfo.port, response !== null);
    if (response === null) return;
    // Back to where the datagram came from, never to a Via host: a stateless answer cannot be aimed
    // at a third party (RFC 3581 section 4, symmetric response).
    try {
      this.socket.send(response, rinfo.port, rinfo.address, (err) => {
        if (err) this.sendErrors++;
        else this.statelessSent++;
      });
    } catch {
      this.sendErrors++;
    }
  }

  private drop(reason: EdgeDropReason, rinfo: dgram.RemoteInfo): void {
    this.dropped[reason]++;
    this.logger.debug({ reason, address: rinfo.address, port: rinfo.port, size: rinfo.size }, 'datagram dropped');
  }

  private handleWorkerMessage(index: number, message: WorkerToEdge): void {
    switch (message.type) {
      case 'sends':
        return this.sends.send(index, message);
      case 'unpin':
        this.affinity.unpin(message.callIds, index);
        return;
      case 'keep':
        this.affinity.keep(message.callIds, index);
        return;
      case 'overload':
        if (message.overloaded) this.overloadedWorkers.add(index);
        else this.overloadedWorkers.delete(index);
        return;
      case 'health':
        this.affinity.reportLoad(index, message.liveCalls);
        return;
      case 'carriers':
        this.admission.update(message.sourceCidrs);
        this.logger.debug({ worker: index, version: message.version, sourceCidrs: message.sourceCidrs.length }, 'carrier sources updated');
        return;
      case 'ready':
      case 'event':
      case 'evidence':
        return;
      default: {
        const unknown: never = message;
        this.logger.warn({ worker: index, message: unknown }, 'unhandled worker message');
      }
    }
  }
}
