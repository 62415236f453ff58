/**
 * The messages between the SIP edge (main thread: owns the UDP socket, supervises) and a SIP worker
 * thread. Both directions are discriminated unions on `type`; a new message type fails to compile
 * wherever a `switch` ends in a `never` check.
 *
 * Datagrams travel in batches, one message per event-loop turn and receiver (datagram-batch.ts):
 * a thread woken once per turn instead of once per datagram. Their bytes are one ArrayBuffer of
 * their own, listed in the transfer list, so `postMessage` moves them instead of copying them a
 * second time. Each direction keeps its order: a worker posts its other messages only after the
 * sends it queued before them (DatagramPort.post).
 */

import type { HealthEvidence } from '../../domain/trunk-health';
import type { ProbeReading } from '../health/probe-target';
import type { PackedDatagrams } from './datagram-batch';

// ---- edge → worker ----

/**
 * The datagrams the edge read for this worker in one turn, in the order read (at most
 * `MAX_BATCH_DATAGRAMS`), each stamped with when the edge read it (`handoffNow()`,
 * handoff-clock.ts): the worker's overload signal is how long they waited for it
 * (calls/sojourn-guard.ts). `bytes` is owned by the receiver.
 */
export interface DatagramsMessage extends PackedDatagrams {
  readonly type: 'datagrams';
}

/** A `send` this worker asked for failed (e.g. `EHOSTUNREACH`, `EACCES`, `EINVAL`, `EMSGSIZE`). */
export interface SendErrorMessage {
  readonly type: 'send-error';
  readonly address: string;
  readonly port: number;
  readonly code: string;
}

/**
 * Stop taking new calls and finish the live ones. The edge has already stopped sending this worker
 * datagrams with new Call-IDs. The worker must answer with a `health` message at once and again
 * whenever its live calls change: the supervisor stops it when it reports `liveCalls: 0`.
 */
export interface DrainMessage {
  readonly type: 'drain';
}

/** Shut down: close everything so the thread exits. It is terminated after a grace period anyway. */
export interface StopMessage {
  readonly type: 'stop';
}

/** Free-form, for callers of `Supervisor.send` / `Supervisor.broadcast`. */
export interface ControlMessage {
  readonly type: 'control';
  readonly payload: unknown;
}

export type EdgeToWorker = DatagramsMessage | SendErrorMessage | DrainMessage | StopMessage | ControlMessage;

// ---- worker → edge ----

/** The worker is up and can take datagrams. Posted once per thread start. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/**
 * Send these datagrams (the worker's sends of one turn, in order, at most `MAX_BATCH_DATAGRAMS`)
 * from the edge's socket, each to its address and port. Failures come back as `send-error`.
 */
export interface SendsMessage extends PackedDatagrams {
  readonly type: 'sends';
}

/** These Call-IDs are over (dialog ended, transaction terminated): unpin them. */
export interface UnpinMessage {
  readonly type: 'unpin';
  readonly callIds: readonly string[];
}

/** These Call-IDs are still live: refresh their pins' idle clock (see `KEEP_INTERVAL_MS`). */
export interface KeepMessage {
  readonly type: 'keep';
  readonly callIds: readonly string[];
}

/**
 * The worker's overload state changed (calls/sojourn-guard.ts): posted when it enters overload
 * and when it leaves it. While it is overloaded the edge refuses the new INVITEs it would assign
 * it, as the worker would, at a fraction of the cost.
 */
export interface OverloadMessage {
  readonly type: 'overload';
  readonly overloaded: boolean;
}

/** Load report: drives least-loaded dispatch and the end of a drain. */
export interface HealthMessage {
  readonly type: 'health';
  readonly liveCalls: number;
}

/** Free-form, surfaced to the supervisor's `message` listeners. */
export interface EventMessage {
  readonly type: 'event';
  readonly payload: unknown;
}

/** What a call, a REGISTER or an OPTIONS probe said about a trunk's health; the main thread applies it (worker/health). */
export interface EvidenceMessage {
  readonly type: 'evidence';
  readonly trunkId: string;
  readonly evidence: HealthEvidence;
  /** With `Probe` evidence: when the probe was sent and its round trip, for `trunk_health.last_probe_*`. */
  readonly probe?: ProbeReading;
}

/**
 * The carriers' source CIDRs of the worker's snapshot, posted at start and whenever the carrier
 * list changes: the edge refuses new INVITEs from other sources itself (admission.ts).
 */
export interface CarriersMessage {
  readonly type: 'carriers';
  /** The worker's snapshot version (counted per worker). */
  readonly version: number;
  readonly sourceCidrs: readonly string[];
}

export type WorkerToEdge = ReadyMessage | SendsMessage | UnpinMessage | KeepMessage | OverloadMessage | HealthMessage | CarriersMessage | EventMessage | EvidenceMessage;

/**
 * How often a worker posts `keep` for its live dialogs. The edge forgets a Call-ID idle for
 * `DEFAULT_IDLE_EXPIRY_MS` (affinity.ts), so a keep every minute leaves a wide margin.
 */
export const KEEP_INTERVAL_MS = 60_000;

const WORKER_TO_EDGE_TYPES: ReadonlySet<string> = new Set<WorkerToEdge['type']>(['ready', 'sends', 'unpin', 'keep', 'overload', 'health', 'carriers', 'event', 'evidence']);

/**
 * Whether a value posted by a worker has a known `type`. Only the discriminant is checked: the
 * worker is our own code, and each handler reads the fields its type guarantees.
 */
export function isWorkerToEdge(value: unknown): value is WorkerToEdge {
  return typeof value === 'object' && value !== null && WORKER_TO_EDGE_TYPES.has((value as { type?: unknown }).type as string);
}
