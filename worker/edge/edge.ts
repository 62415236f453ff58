import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIP, isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { EdgeAdmission } from './admission';
import type { Affinity } from './affinity';
import { scanCallId } from './call-id';
import { EdgeFaults } from './edge-faults';
import { EdgeLoad } from './edge-load';
import { EDGE_DROP_REASONS, registerEdgeMetrics, type EdgeDropReason, type EdgeStats } from './edge-metrics';
import type { EdgeToWorker, SendMessage, WorkerToEdge } from './protocol';
import { Refusals, type RefusalReason } from './refusals';
import { scanRequest, scanToTag, statelessResponse, StatelessTags, type ScannedRequest } from './stateless-response';
import type { Supervisor } from './supervisor';

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
/** As a saturated worker's 503 (load-guard.ts): a second is enough for the loop to catch up. */
export const EDGE_OVERLOAD_RETRY_AFTER_S = 1;

/** Request lines the edge looks at before handing a datagram on (methods are case-sensitive, RFC 3261 section 7.1). */
const INVITE_LINE = Buffer.from('INVITE ', 'latin1');
const ACK_LINE = Buffer.from('ACK ', 'latin1');
const RESPONSE_LINE = Buffer.from('SIP/2.0 ', 'latin1');

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
  /** The edge's event-loop load; tests pass one with an injected utilisation, sampled by hand. */
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

function bind(socket: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use by another socket' : err.message;
      reject(Object.assign(new Error(`cannot bind SIP UDP socket on ${host}:${port}: ${why}`, { cause: err }), { code: err.code }));
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function setBufferSize(socket: dgram.Socket, which: 'receive' | 'send', bytes: number, logger: Logger): void {
  try {
    if (which === 'receive') socket.setRecvBufferSize(bytes);
    else socket.setSendBufferSize(bytes);
    const actual = which === 'receive' ? socket.getRecvBufferSize() : socket.getSendBufferSize();
    // Linux reports twice what it granted, and silently caps the request at net.core.[rw]mem_max.
    if (actual < bytes) logger.warn({ which, requested: bytes, actual }, 'UDP socket buffer smaller than asked: raise net.core.rmem_max / wmem_max');
  } catch (err) {
    logger.warn({ err, which, requested: bytes }, 'could not size the UDP socket buffer');
  }
}

class UdpEdge implements Edge {
  private readonly supervisor: Supervisor;
  private readonly affinity: Affinity;
  private received = 0;
  private dispatched = 0;
  private readonly dropped = Object.fromEntries(EDGE_DROP_REASONS.map((reason) => [reason, 0])) as Record<EdgeDropReason, number>;
  private sent = 0;
  private sendErrors = 0;
  private socketErrors = 0;
  private statelessSent = 0;
  private acksAbsorbed = 0;
  private readonly admission = new EdgeAdmission();
  private readonly tags = new StatelessTags(randomInt(2 ** 32));
  private readonly load: EdgeLoad;
  private readonly refusals: Refusals;
  private readonly faults: EdgeFaults;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly unregisterMetrics: () => void;
  private closing: Promise<void> | null = null;

  private readonly onReady = (index: number): void => this.affinity.addWorker(index);
  private readonly onDraining = (index: number): void => this.affinity.drainWorker(index);
  private readonly onGone = (index: number): void => {
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
    this.load = options.load ?? new EdgeLoad();
    this.load.start();
    this.refusals = new Refusals(logger);
    this.refusals.start();
    this.faults = new EdgeFaults(logger);
    for (const index of this.supervisor.readyWorkers()) this.affinity.addWorker(index);
    this.supervisor.on('ready', this.onReady);
    this.supervisor.on('draining', this.onDraining);
    this.supervisor.on('exit', this.onGone);
    this.supervisor.on('stopped', this.onGone);
    this.supervisor.on('message', this.onWorkerMessage);
    socket.on('message', (msg, rinfo) => {
      this.received++;
      let refused = false;
      try {
        refused = this.dispatch(msg, rinfo);
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
      sent: this.sent,
      sendErrors: this.sendErrors,
      socketErrors: this.socketErrors,
      pins: this.affinity.size(),
      refused: { ...this.refusals.counts },
      refusedUnanswered: this.refusals.unanswered,
      statelessSent: this.statelessSent,
      acksAbsorbed: this.acksAbsorbed,
      carrierCidrCount: this.admission.sourceCidrCount(),
      pressure: this.load.pressure(),
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.sweepTimer);
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

  /** Hands a datagram to its worker, or answers it here; true when the edge refused it itself. */
  private dispatch(msg: Buffer, rinfo: dgram.RemoteInfo): boolean {
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
    const index = opensCall ? this.affinity.assign(callId) : this.affinity.route(callId);
    if (index === null) {
      this.drop('no-worker', rinfo);
      return false;
    }
    // A copy of exactly these bytes: `msg` may view a larger pooled allocation, and transferring
    // that backing store would detach memory other Buffers still use.
    const data = new Uint8Array(msg).buffer;
    const message: EdgeToWorker = { type: 'datagram', data, address: rinfo.address, port: rinfo.port };
    if (!this.supervisor.send(index, message, [data])) {
      this.drop('worker-unavailable', rinfo);
      return false;
    }
    this.dispatched++;
    return false;
  }

  /**
   * An INVITE or ACK whose Call-ID no worker holds. An INVITE with a To tag belongs to no dialog
   * of ours: the INVITE that opened each of them pinned its Call-ID, and workers keep the pins
   * of live dialogs (protocol.ts `KeepMessage`). It gets 481 (RFC 3261 section 12.2.2) from
   * whoever sent it. An out-of-dialog INVITE (no To tag) is judged (DESIGN section 4 step 1):
   * from a source that is no carrier it gets 403; when no worker takes calls, or this loop is
   * saturated by real traffic, 503 with Retry-After; otherwise it is a `new-call`, the only kind
   * that pins its Call-ID. An ACK carrying the To tag of one of our stateless answers ends here
   * (section 17.1.1.3: it only confirms that answer). Nothing refused or answered here pins a
   * Call-ID or reaches a worker.
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
    const noWorker = !this.affinity.acceptsNew();
    if (!noWorker && pressure !== 'overloaded') return 'new-call';
    const request = scanRequest(msg);
    if (request === null || request.toTag !== null) return 'pass';
    if (noWorker) this.refuse('no-worker', request, callId, 503, 'Service Unavailable', [['Retry-After', String(NO_WORKER_RETRY_AFTER_S)]], rinfo);
    else this.refuse('edge-overload', request, callId, 503, 'Service Unavailable', [['Retry-After', String(EDGE_OVERLOAD_RETRY_AFTER_S)]], rinfo);
    return 'answered';
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
      case 'send':
        return this.sendFor(index, message);
      case 'unpin':
        this.affinity.unpin(message.callIds, index);
        return;
      case 'keep':
        this.affinity.keep(message.callIds, index);
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

  private sendFor(index: number, message: SendMessage): void {
    const { data, address, port } = message;
    if (!(data instanceof ArrayBuffer)) return this.sendFailed(index, address, port, 'EINVAL');
    // Addresses must be literal: a host name would make the main thread wait on DNS.
    if (isIP(address) === 0) return this.sendFailed(index, address, port, 'EINVAL');
    const bytes = Buffer.from(data);
    const callId = scanCallId(bytes);
    if (callId !== null) {
      if (startsWith(bytes, RESPONSE_LINE)) this.affinity.touch(callId, index);
      else this.affinity.pinOutgoing(callId, index);
    }
    try {
      this.socket.send(bytes, port, address, (err) => {
        if (err) this.sendFailed(index, address, port, errorCode(err));
        else this.sent++;
      });
    } catch (err) {
      // Synchronous refusals: a bad port, a closed socket.
      this.sendFailed(index, address, port, errorCode(err));
    }
  }

  private sendFailed(index: number, address: string, port: number, code: string): void {
    this.sendErrors++;
    this.logger.debug({ worker: index, address, port, code }, 'send failed');
    this.supervisor.send(index, { type: 'send-error', address, port, code });
  }
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length > prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
