import { EventEmitter } from 'node:events';
import path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import type { Logger } from 'pino';
import { isWorkerToEdge, type EdgeToWorker, type WorkerToEdge } from './protocol';
import { crashLoopLength, DEFAULT_BACKOFF, restartDelayMs, type RestartBackoff } from './restart-policy';

export type { RestartBackoff } from './restart-policy';

/**
 * Runs the SIP worker threads (DESIGN section 3): spawns them, restarts a dead one (at once, with
 * exponential backoff only in a crash loop), messages one or all, resizes at runtime (scale down
 * drains: no new calls, the live ones end, then the thread stops) and reports per-worker health.
 * Plain `node:worker_threads`: an exception in a worker is logged and the worker restarted, never
 * rethrown in the host.
 *
 * Restart policy (restart-policy.ts): at once, with growing backoff only in a crash loop, and
 * never longer than `noneReadyMaxMs` while no other worker is ready; every pending restart is
 * brought forward to that when the last ready worker dies.
 */

export type WorkerState = 'starting' | 'ready' | 'draining' | 'restarting' | 'stopped';

export interface WorkerHealth {
  readonly index: number;
  /** -1 while no thread runs for this index. */
  readonly threadId: number;
  readonly state: WorkerState;
  readonly liveCalls: number;
  /** Busy fraction of the worker's event loop since the previous `health()` call (0..1). */
  readonly eventLoopUtilization: number;
  readonly restarts: number;
}

export interface SupervisorOptions {
  /** Absolute path of the compiled worker entry (.js). */
  readonly script: string;
  readonly workerData: (index: number) => unknown;
  readonly count: number;
  readonly logger: Logger;
  readonly restartBackoff?: RestartBackoff;
  readonly resourceLimits?: ResourceLimits;
  /** A draining worker still holding calls after this long is stopped anyway. */
  readonly drainTimeoutMs?: number;
  /** After `stop`, how long a worker may take to exit before it is terminated. */
  readonly stopGraceMs?: number;
  /** A thread that has not posted `ready` after this long is terminated (and restarted). */
  readonly readyTimeoutMs?: number;
}

export interface SupervisorEvents {
  /** Every valid message a worker posts, after the supervisor has read `ready` and `health`. */
  message: [index: number, message: WorkerToEdge];
  /** A worker died unexpectedly; emitted before any restart, so its resources can be given back. */
  exit: [index: number, code: number];
  /** A replacement thread was spawned for a dead worker, after the delay the policy chose (`ready` follows when it is up). */
  restart: [index: number, delayMs: number];
  /** A thread posted `ready` and may take new Call-IDs. */
  ready: [index: number];
  /** A worker was told to drain: no new Call-IDs for it. */
  draining: [index: number];
  /** A worker stopped because it was asked to (resize or stop). */
  stopped: [index: number];
}

/** Calls last minutes, sometimes hours; ten minutes lets almost all end before a scale-down forces it. */
const DEFAULT_DRAIN_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_STOP_GRACE_MS = 5_000;
const DEFAULT_READY_TIMEOUT_MS = 30_000;

interface Slot {
  readonly index: number;
  worker: Worker | null;
  state: WorkerState;
  liveCalls: number;
  restarts: number;
  /** Deaths in a row, each within `resetAfterMs` of the thread's start: the crash loop's length. */
  crashes: number;
  /** performance.now() when the pending restart is due. */
  restartDueAt: number;
  /** performance.now() of the current thread's `ready`, 0 before it. */
  readyAt: number;
  elu: EventLoopUtilization | null;
  /** We asked it to stop: its exit is expected. */
  retiring: boolean;
  readyWaiter: { resolve: () => void; reject: (error: Error) => void } | null;
  readonly stopped: Promise<void>;
  markStopped: () => void;
  restartTimer: NodeJS.Timeout | null;
  readyTimer: NodeJS.Timeout | null;
  drainTimer: NodeJS.Timeout | null;
  stopGraceTimer: NodeJS.Timeout | null;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly options: SupervisorOptions;
  private readonly backoff: Required<RestartBackoff>;
  private readonly logger: Logger;
  private readonly slots: Slot[] = [];
  private target = 0;
  private started = false;
  private stopping: Promise<void> | null = null;

  constructor(options: SupervisorOptions) {
    super();
    if (!path.isAbsolute(options.script)) throw new Error(`worker script must be an absolute path: ${options.script}`);
    checkCount(options.count);
    this.options = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.restartBackoff };
    this.logger = options.logger.child({ module: 'sip-supervisor' });
  }

  /** Spawns `count` workers; resolves when all posted `ready`, rejects (and stops all) if one died first. */
  async start(): Promise<void> {
    if (this.started) throw new Error('supervisor already started');
    this.started = true;
    try {
      await this.grow(this.options.count);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Posts to one worker; false when no thread runs there or it is being stopped. */
  send(index: number, message: EdgeToWorker, transfer?: readonly TransferListItem[]): boolean {
    const slot = this.slots[index];
    if (!slot?.worker || slot.retiring) return false;
    slot.worker.postMessage(message, transfer);
    return true;
  }

  /** Posts to every running worker; returns how many. */
  broadcast(message: EdgeToWorker): number {
    let sent = 0;
    for (const slot of this.slots) if (this.send(slot.index, message)) sent++;
    return sent;
  }

  /** Grows (resolves when the new workers are ready) or shrinks (resolves when the drained ones stopped). */
  async resize(count: number): Promise<void> {
    checkCount(count);
    if (!this.started || this.stopping) throw new Error('supervisor is not running');
    const waits: Promise<void>[] = [];
    for (let index = count; index < this.target; index++) {
      this.drain(this.slots[index]);
      waits.push(this.slots[index].stopped);
    }
    if (count > this.target) waits.push(this.grow(count));
    this.target = count;
    await Promise.all(waits);
  }

  /** Indexes of the workers that are ready; unlike `health()`, moves no utilisation baseline. */
  readyWorkers(): number[] {
    return this.slots.filter((slot) => slot.state === 'ready' && slot.worker !== null).map((slot) => slot.index);
  }

  /** Per-worker state; each call measures event-loop use since the previous call. */
  health(): WorkerHealth[] {
    return this.slots
      .filter((slot) => slot.index < this.target || slot.state !== 'stopped')
      .map((slot) => {
        let utilization = 0;
        if (slot.worker) {
          const current = slot.worker.performance.eventLoopUtilization();
          utilization = (slot.elu ? slot.worker.performance.eventLoopUtilization(current, slot.elu) : current).utilization;
          slot.elu = current;
        }
        return {
          index: slot.index,
          threadId: slot.worker?.threadId ?? -1,
          state: slot.state,
          liveCalls: slot.liveCalls,
          eventLoopUtilization: Number.isFinite(utilization) ? utilization : 0,
          restarts: slot.restarts,
        };
      });
  }

  /**
   * Terminates a worker's thread at once, as a crash would (for a worker that hangs): its calls
   * are lost, `exit` fires so its channels are given back, and it is restarted with backoff.
   */
  async kill(index: number): Promise<void> {
    const worker = this.slots[index]?.worker;
    if (!worker) throw new Error(`no SIP worker runs at index ${index}`);
    this.logger.warn({ worker: index }, 'terminating SIP worker on request');
    await worker.terminate();
  }

  /** Stops every worker (`stop`, then terminate after the grace period); no restart happens after this. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of this.slots) {
        if (slot.worker) this.retire(slot);
        else this.finishStop(slot);
      }
      await Promise.all(this.slots.map((slot) => slot.stopped));
    })();
    return this.stopping;
  }

  private async grow(count: number): Promise<void> {
    const from = this.target;
    this.target = count;
    const ready: Promise<void>[] = [];
    for (let index = from; index < count; index++) ready.push(this.startSlot(index));
    await Promise.all(ready);
  }

  private async startSlot(index: number): Promise<void> {
    const previous = this.slots[index];
    // A draining worker cannot be taken back (the protocol has no undrain): wait for it to go.
    if (previous && previous.state !== 'stopped') await previous.stopped;
    if (this.stopping || index >= this.target) return;
    let markStopped = (): void => undefined;
    const stopped = new Promise<void>((resolve) => (markStopped = resolve));
    const slot: Slot = {
      index, worker: null, state: 'starting', liveCalls: 0, restarts: 0, crashes: 0, restartDueAt: 0, readyAt: 0, elu: null, retiring: false,
      readyWaiter: null, stopped, markStopped, restartTimer: null, readyTimer: null, drainTimer: null, stopGraceTimer: null,
    };
    this.slots[index] = slot;
    const ready = new Promise<void>((resolve, reject) => (slot.readyWaiter = { resolve, reject }));
    try {
      this.spawn(slot);
    } catch (error) {
      slot.readyWaiter = null;
      this.finishStop(slot);
      throw error;
    }
    await ready;
  }

  private spawn(slot: Slot): void {
    const worker = new Worker(this.options.script, { workerData: this.options.workerData(slot.index), resourceLimits: this.options.resourceLimits });
    slot.worker = worker;
    slot.state = 'starting';
    slot.liveCalls = 0;
    slot.readyAt = 0;
    slot.elu = null;
    slot.retiring = false;
    slot.readyTimer = setTimeout(() => {
      this.logger.error({ worker: slot.index, readyTimeoutMs: this.readyTimeoutMs }, 'SIP worker did not become ready; terminating it');
      void worker.terminate();
    }, this.readyTimeoutMs);
    worker.on('message', (value: unknown) => this.onMessage(slot, worker, value));
    worker.on('messageerror', (err) => this.logger.error({ err, worker: slot.index }, 'message from SIP worker could not be deserialised'));
    // Without this listener an exception in the worker would be rethrown here and kill the process.
    worker.on('error', (err) => this.logger.error({ err, worker: slot.index, threadId: worker.threadId }, 'SIP worker threw'));
    worker.on('exit', (code) => this.onExit(slot, worker, code));
  }

  private onMessage(slot: Slot, worker: Worker, value: unknown): void {
    if (slot.worker !== worker) return;
    if (!isWorkerToEdge(value)) {
      this.logger.warn({ worker: slot.index }, 'SIP worker posted a message of unknown type; ignored');
      return;
    }
    if (value.type === 'ready') {
      clearTimer(slot, 'readyTimer');
      slot.readyAt = performance.now();
      slot.readyWaiter?.resolve();
      slot.readyWaiter = null;
      if (slot.state === 'starting') {
        slot.state = 'ready';
        this.safeEmit('ready', slot.index);
      }
    } else if (value.type === 'health') {
      slot.liveCalls = value.liveCalls;
      if (slot.state === 'draining' && value.liveCalls === 0) this.retire(slot);
    }
    this.safeEmit('message', slot.index, value);
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    clearTimer(slot, 'readyTimer');
    clearTimer(slot, 'drainTimer');
    clearTimer(slot, 'stopGraceTimer');
    slot.readyWaiter?.reject(new Error(`SIP worker ${slot.index} exited with code ${code} before it was ready`));
    slot.readyWaiter = null;
    if (slot.retiring) {
      this.logger.info({ worker: slot.index, code }, 'SIP worker stopped');
      this.finishStop(slot);
      this.safeEmit('stopped', slot.index);
      return;
    }
    this.logger.error({ worker: slot.index, code, liveCalls: slot.liveCalls }, 'SIP worker died');
    const wasDraining = slot.state === 'draining';
    slot.state = 'restarting';
    this.safeEmit('exit', slot.index, code);
    // A draining worker was going away anyway, and nothing restarts once stop() began.
    if (wasDraining || this.stopping || slot.index >= this.target) {
      this.finishStop(slot);
      return;
    }
    slot.crashes = crashLoopLength(slot.crashes, slot.readyAt > 0 ? performance.now() - slot.readyAt : null, this.backoff);
    this.scheduleRestart(slot);
    if (!this.anyReady()) this.bringRestartsForward();
  }

  private scheduleRestart(slot: Slot): void {
    const delayMs = restartDelayMs(slot.crashes, this.anyReady(), this.backoff);
    this.logger.info({ worker: slot.index, delayMs, crashes: slot.crashes }, 'restarting SIP worker');
    this.armRestart(slot, delayMs);
  }

  private armRestart(slot: Slot, delayMs: number): void {
    clearTimer(slot, 'restartTimer');
    slot.restartDueAt = performance.now() + delayMs;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      slot.restarts++;
      try {
        this.spawn(slot);
      } catch (err) {
        this.logger.error({ err, worker: slot.index }, 'SIP worker could not be spawned');
        slot.crashes++;
        this.scheduleRestart(slot);
        return;
      }
      this.safeEmit('restart', slot.index, delayMs);
    }, delayMs);
  }

  private anyReady(): boolean {
    return this.slots.some((slot) => slot.state === 'ready' && slot.worker !== null);
  }

  /** No worker is ready: restarts waiting longer than `noneReadyMaxMs` are brought forward to it. */
  private bringRestartsForward(): void {
    const latest = performance.now() + this.backoff.noneReadyMaxMs;
    for (const slot of this.slots) {
      if (slot.restartTimer === null || slot.restartDueAt <= latest) continue;
      this.logger.warn({ worker: slot.index, delayMs: this.backoff.noneReadyMaxMs }, 'no SIP worker is ready: restart brought forward');
      this.armRestart(slot, this.backoff.noneReadyMaxMs);
    }
  }

  private drain(slot: Slot): void {
    if (slot.state === 'draining' || slot.state === 'stopped' || slot.retiring) return;
    if (!slot.worker) {
      this.finishStop(slot);
      return;
    }
    slot.state = 'draining';
    slot.worker.postMessage({ type: 'drain' } satisfies EdgeToWorker);
    this.safeEmit('draining', slot.index);
    slot.drainTimer = setTimeout(() => {
      this.logger.warn({ worker: slot.index, liveCalls: slot.liveCalls }, 'drain timed out; stopping SIP worker with calls live');
      this.retire(slot);
    }, this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
  }

  /** Asks the worker to stop, and terminates it if it has not exited after the grace period. */
  private retire(slot: Slot): void {
    const worker = slot.worker;
    if (!worker || slot.retiring) return;
    slot.retiring = true;
    clearTimer(slot, 'drainTimer');
    worker.postMessage({ type: 'stop' } satisfies EdgeToWorker);
    slot.stopGraceTimer = setTimeout(() => {
      this.logger.warn({ worker: slot.index }, 'SIP worker did not exit after stop; terminating it');
      void worker.terminate();
    }, this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
  }

  private finishStop(slot: Slot): void {
    clearTimer(slot, 'restartTimer');
    slot.state = 'stopped';
    slot.markStopped();
  }

  private get readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  }

  /** A listener's bug is logged, not thrown into the worker's event handler (which would kill the process). */
  private safeEmit<E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]): void {
    try {
      (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, 'supervisor listener threw');
    }
  }
}

function clearTimer(slot: Slot, name: 'restartTimer' | 'readyTimer' | 'drainTimer' | 'stopGraceTimer'): void {
  const timer = slot[name];
  if (timer) clearTimeout(timer);
  slot[name] = null;
}

function checkCount(count: number): void {
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`worker count must be a whole number, got ${count}`);
}
