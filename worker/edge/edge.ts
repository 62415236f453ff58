import dgram from 'node:dgram';
import { isIP, isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Affinity } from './affinity';
import { scanCallId } from './call-id';
import type { EdgeToWorker, SendMessage, WorkerToEdge } from './protocol';
import type { Supervisor } from './supervisor';

/**
 * The SIP edge: the main thread of the SIP process owns the one UDP socket (DESIGN section 3: dgram
 * has no working reusePort, so threads cannot share the port). Each received datagram goes to the
 * worker that owns its Call-ID; what workers post is sent from this socket, so every packet leaves
 * from the address the peer knows.
 */

/** Kernel default receive/send buffers drop bursts of INVITEs; 4 MiB absorbs several thousand. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Idle bindings expire in minutes; sweeping every minute keeps the table close to the truth. */
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export type DropReason = 'no-call-id' | 'no-worker' | 'worker-unavailable';
const DROP_REASONS: readonly DropReason[] = ['no-call-id', 'no-worker', 'worker-unavailable'];

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
}

export interface EdgeStats {
  readonly received: number;
  readonly dispatched: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly sent: number;
  readonly sendErrors: number;
  readonly socketErrors: number;
  readonly bindings: number;
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
  private readonly dropped: Record<DropReason, number> = { 'no-call-id': 0, 'no-worker': 0, 'worker-unavailable': 0 };
  private sent = 0;
  private sendErrors = 0;
  private socketErrors = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly metricNames: string[] = [];
  private registry: Registry | null = null;
  private closing: Promise<void> | null = null;

  private readonly onReady = (index: number): void => this.affinity.addWorker(index);
  private readonly onDraining = (index: number): void => this.affinity.drainWorker(index);
  private readonly onGone = (index: number): void => {
    const dropped = this.affinity.dropWorker(index);
    this.logger.info({ worker: index, bindings: dropped }, 'dropped the Call-ID bindings of a SIP worker that is gone');
  };
  private readonly onWorkerMessage = (index: number, message: WorkerToEdge): void => this.handleWorkerMessage(index, message);

  constructor(
    private readonly socket: dgram.Socket,
    options: EdgeOptions,
    private readonly logger: Logger,
  ) {
    this.supervisor = options.supervisor;
    this.affinity = options.affinity;
    for (const index of this.supervisor.readyWorkers()) this.affinity.addWorker(index);
    this.supervisor.on('ready', this.onReady);
    this.supervisor.on('draining', this.onDraining);
    this.supervisor.on('exit', this.onGone);
    this.supervisor.on('stopped', this.onGone);
    this.supervisor.on('message', this.onWorkerMessage);
    socket.on('message', (msg, rinfo) => this.dispatch(msg, rinfo));
    socket.on('error', (err) => {
      this.socketErrors++;
      this.logger.error({ err }, 'SIP UDP socket error');
    });
    this.sweepTimer = setInterval(() => {
      const removed = this.affinity.sweep();
      if (removed > 0) this.logger.info({ removed }, 'expired idle Call-ID bindings');
    }, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    if (options.metrics) this.registerMetrics(options.metrics);
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
      bindings: this.affinity.size(),
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.sweepTimer);
      this.supervisor.off('ready', this.onReady);
      this.supervisor.off('draining', this.onDraining);
      this.supervisor.off('exit', this.onGone);
      this.supervisor.off('stopped', this.onGone);
      this.supervisor.off('message', this.onWorkerMessage);
      for (const name of this.metricNames) this.registry?.removeSingleMetric(name);
      this.socket.close(resolve);
    });
    return this.closing;
  }

  private dispatch(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.received++;
    const callId = scanCallId(msg);
    if (callId === null) return this.drop('no-call-id', rinfo);
    const index = this.affinity.assign(callId);
    if (index === null) return this.drop('no-worker', rinfo);
    // A copy of exactly these bytes: `msg` may view a larger pooled allocation, and transferring
    // that backing store would detach memory other Buffers still use.
    const data = new Uint8Array(msg).buffer;
    const message: EdgeToWorker = { type: 'datagram', data, address: rinfo.address, port: rinfo.port };
    if (!this.supervisor.send(index, message, [data])) return this.drop('worker-unavailable', rinfo);
    this.dispatched++;
  }

  private drop(reason: DropReason, rinfo: dgram.RemoteInfo): void {
    this.dropped[reason]++;
    this.logger.debug({ reason, address: rinfo.address, port: rinfo.port, size: rinfo.size }, 'datagram dropped');
  }

  private handleWorkerMessage(index: number, message: WorkerToEdge): void {
    switch (message.type) {
      case 'send':
        return this.sendFor(index, message);
      case 'release':
        this.affinity.release(message.callIds, index);
        return;
      case 'keep':
        this.affinity.keep(message.callIds, index);
        return;
      case 'health':
        this.affinity.reportLoad(index, message.liveCalls);
        return;
      case 'ready':
      case 'event':
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
    if (callId !== null) this.affinity.bindOutgoing(callId, index);
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

  /** Counters only go up: each scrape resets them and adds the running totals kept here. */
  private registerMetrics(registry: Registry): void {
    this.registry = registry;
    const stats = (): EdgeStats => this.stats();
    const counter = (name: string, help: string, read: (current: EdgeStats) => number): void => {
      this.metricNames.push(name);
      new Counter({
        name, help, registers: [registry],
        collect(this: Counter) {
          this.reset();
          this.inc(read(stats()));
        },
      });
    };
    counter('sip_edge_datagrams_received_total', 'UDP datagrams received by the SIP edge', (s) => s.received);
    counter('sip_edge_datagrams_dispatched_total', 'Datagrams handed to a SIP worker', (s) => s.dispatched);
    counter('sip_edge_datagrams_sent_total', 'Datagrams sent for SIP workers', (s) => s.sent);
    counter('sip_edge_send_errors_total', 'Sends that failed (reported back to the worker)', (s) => s.sendErrors);
    counter('sip_edge_socket_errors_total', 'Errors on the SIP UDP socket', (s) => s.socketErrors);
    this.metricNames.push('sip_edge_datagrams_dropped_total', 'sip_edge_call_id_bindings');
    new Counter({
      name: 'sip_edge_datagrams_dropped_total', help: 'Datagrams dropped by the SIP edge, by reason', labelNames: ['reason'], registers: [registry],
      collect(this: Counter<'reason'>) {
        this.reset();
        const { dropped } = stats();
        for (const reason of DROP_REASONS) this.inc({ reason }, dropped[reason]);
      },
    });
    new Gauge({
      name: 'sip_edge_call_id_bindings', help: 'Call-IDs bound to a SIP worker', registers: [registry],
      collect(this: Gauge) {
        this.set(stats().bindings);
      },
    });
  }
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
