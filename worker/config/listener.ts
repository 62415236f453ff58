import { EventEmitter } from 'node:events';
import type { Client, Notification } from 'pg';
import type { Logger } from 'pino';
import { CONFIG_CHANNEL, parseConfigChange, type ConfigChange } from '../../schema/config-change';
import { applyChanges, loadSnapshot } from './load';
import type { Snapshot } from './snapshot';
import { systemClock, type Clock, type Timer } from '../clock';

export interface BackoffSettings {
  /** Ceiling of the first delay; doubles per failed attempt. */
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 100, maxMs: 10_000 };
/** Notifications arriving within this window are applied in one reload and one swap. */
export const DEFAULT_COALESCE_MS = 10;

export interface ConfigListenerOptions {
  /** A new, connected client for the LISTEN connection (the caller picks URL, application_name, keepAlive). */
  readonly connect: () => Promise<Client>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly backoff?: BackoffSettings;
  readonly coalesceMs?: number;
  /** Uniform in [0, 1): the jitter source. */
  readonly random?: () => number;
}

/** Why a snapshot was swapped in. */
export type SnapshotReason =
  | { readonly kind: 'start' }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'changes'; readonly changes: readonly ConfigChange[] }
  /** A notification could not be read: everything was reloaded, the safe default. */
  | { readonly kind: 'resync'; readonly cause: string };

export interface ConfigListenerEvents {
  snapshot: [snapshot: Snapshot, reason: SnapshotReason];
}

export interface ListenerHealth {
  readonly connected: boolean;
  /** Epoch milliseconds of the last swap, by the listener's clock. */
  readonly lastReloadAt: number | null;
  readonly version: number;
  /** Successful reconnections since start. */
  readonly reconnects: number;
}

const ignoreError = (): void => undefined;

type State = 'idle' | 'starting' | 'connected' | 'disconnected' | 'stopped';

/**
 * Keeps a worker's configuration snapshot current (DESIGN section 2). One LISTEN connection; on
 * every (re)connect it LISTENs first and then loads everything, so no commit between the two is
 * missed. Notifications are nudges: the rows they name are re-read and a new snapshot is swapped
 * in with one assignment. A lost connection is retried with exponential backoff and full jitter
 * while the last snapshot keeps serving calls. One operation at a time runs on the client.
 */
export class ConfigListener extends EventEmitter<ConfigListenerEvents> {
  private readonly clock: Clock;
  private readonly backoff: BackoffSettings;
  private readonly coalesceMs: number;
  private readonly random: () => number;
  private state: State = 'idle';
  private client: Client | null = null;
  private snapshot: Snapshot | null = null;
  private pending: ConfigChange[] = [];
  /** Set when a notification could not be parsed: the next flush reloads everything. */
  private resyncCause: string | null = null;
  /** The load, reload or reconnect running now; `stop()` waits for it. */
  private busy: Promise<void> | null = null;
  private coalesceTimer: Timer | null = null;
  private reconnectTimer: Timer | null = null;
  private failedAttempts = 0;
  private reconnects = 0;
  private lastReloadAt: number | null = null;
  private readonly detachers = new WeakMap<Client, () => void>();

  constructor(private readonly options: ConfigListenerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.random = options.random ?? Math.random;
  }

  /** Connects, LISTENs, loads the full snapshot and resolves with it. Rejects if any step fails. */
  async start(): Promise<Snapshot> {
    if (this.state !== 'idle') throw new Error(`ConfigListener cannot start when ${this.state}`);
    this.state = 'starting';
    const opening = this.open({ kind: 'start' });
    this.busy = opening.catch(() => undefined);
    try {
      await opening;
    } catch (error) {
      if (!this.is('stopped')) this.state = 'idle';
      throw error;
    } finally {
      this.busy = null;
    }
    if (this.is('stopped') || this.snapshot === null) throw new Error('ConfigListener stopped while starting');
    this.armFlush();
    return this.snapshot;
  }

  /** The snapshot to serve a new call from. */
  current(): Snapshot {
    if (this.snapshot === null) throw new Error('ConfigListener has not loaded a snapshot yet');
    return this.snapshot;
  }

  health(): ListenerHealth {
    return { connected: this.state === 'connected', lastReloadAt: this.lastReloadAt, version: this.snapshot?.version ?? 0, reconnects: this.reconnects };
  }

  /** Ends the connection and every timer; waits for an operation in flight to finish. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.coalesceTimer?.cancel();
    this.coalesceTimer = null;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.pending = [];
    const client = this.client;
    this.client = null;
    if (client !== null) await this.release(client);
    await this.busy;
  }

  /** Connect, LISTEN, then the full load, then swap. On failure the client is released and the error rethrown. */
  private async open(reason: SnapshotReason): Promise<void> {
    const client = await this.options.connect();
    if (this.state === 'stopped') {
      await this.release(client);
      return;
    }
    this.attach(client);
    try {
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
      // Whatever was nudged before the load's first read is in the load.
      this.pending = [];
      this.resyncCause = null;
      const snapshot = await loadSnapshot(client, this.nextVersion());
      if (this.is('stopped')) return;
      if (this.client !== client) throw new Error('config connection lost while loading');
      this.state = 'connected';
      this.swap(snapshot, reason);
    } catch (error) {
      if (this.client === client) this.client = null;
      await this.release(client);
      throw error;
    }
  }

  private attach(client: Client): void {
    this.client = client;
    const onNotification = (message: Notification): void => this.onNotification(client, message);
    const onError = (error: Error): void => this.onLost(client, error);
    const onEnd = (): void => this.onLost(client, new Error('connection ended'));
    client.on('notification', onNotification);
    client.on('error', onError);
    client.on('end', onEnd);
    this.detachers.set(client, () => {
      client.off('notification', onNotification);
      client.off('error', onError);
      client.off('end', onEnd);
    });
  }

  /** Detaches our handlers and ends the client; a late socket error must not crash the worker. */
  private async release(client: Client): Promise<void> {
    const detach = this.detachers.get(client);
    if (detach !== undefined) {
      this.detachers.delete(client);
      detach();
      client.on('error', ignoreError);
    }
    await client.end().catch(() => undefined);
  }

  private onNotification(client: Client, message: Notification): void {
    if (client !== this.client || message.channel !== CONFIG_CHANNEL) return;
    const change = parseConfigChange(message.payload ?? '');
    if (change === null) {
      this.options.logger.warn({ payload: (message.payload ?? '').slice(0, 200) }, 'unreadable config notification: reloading everything');
      this.resyncCause = 'unreadable notification';
    } else {
      this.pending.push(change);
    }
    this.armFlush();
  }

  /** Starts the coalescing window unless one is open or an operation runs (it re-arms when done). */
  private armFlush(): void {
    if (this.coalesceTimer !== null || this.busy !== null || this.state !== 'connected') return;
    if (this.pending.length === 0 && this.resyncCause === null) return;
    this.coalesceTimer = this.clock.after(this.coalesceMs, () => {
      this.coalesceTimer = null;
      this.run(() => this.flush());
    });
  }

  /** Runs operations one after another: one client, and each builds on the snapshot the last one swapped in. */
  private run(operation: () => Promise<void>): void {
    const current: Promise<void> = (this.busy ?? Promise.resolve())
      .then(operation)
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'config listener operation failed'))
      .finally(() => {
        if (this.busy !== current) return;
        this.busy = null;
        this.armFlush();
      });
    this.busy = current;
  }

  private async flush(): Promise<void> {
    const client = this.client;
    if (client === null || this.state !== 'connected') return;
    if (this.pending.length === 0 && this.resyncCause === null) return;
    const changes = this.pending;
    const cause = this.resyncCause;
    this.pending = [];
    this.resyncCause = null;
    try {
      const snapshot =
        cause !== null ? await loadSnapshot(client, this.nextVersion()) : await applyChanges(this.current(), changes, client, this.nextVersion());
      if (this.state !== 'connected' || this.client !== client) return;
      this.swap(snapshot, cause !== null ? { kind: 'resync', cause } : { kind: 'changes', changes });
    } catch (error) {
      // The rows were not read; a reconnect reloads everything, so nothing is lost.
      this.onLost(client, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private onLost(client: Client, error: Error): void {
    if (client !== this.client) return;
    this.client = null;
    void this.release(client);
    this.coalesceTimer?.cancel();
    this.coalesceTimer = null;
    this.pending = [];
    this.resyncCause = null;
    // While starting or reconnecting, the open() in flight fails and decides what comes next.
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    this.options.logger.warn({ err: error, version: this.snapshot?.version }, 'config connection lost: serving the last snapshot, reconnecting');
    this.scheduleReconnect();
  }

  /** Full jitter: a delay uniform in [0, min(max, initial * 2^attempt)). */
  private scheduleReconnect(): void {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failedAttempts);
    const delayMs = Math.floor(this.random() * ceiling);
    this.reconnectTimer = this.clock.after(delayMs, () => {
      this.reconnectTimer = null;
      this.run(() => this.reconnect());
    });
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'disconnected') return;
    try {
      await this.open({ kind: 'reconnect' });
    } catch (error) {
      if (this.state !== 'disconnected') return;
      this.failedAttempts++;
      this.options.logger.warn({ err: error, attempt: this.failedAttempts }, 'config reconnect failed');
      this.scheduleReconnect();
      return;
    }
    if (!this.is('connected')) return;
    this.reconnects++;
    this.failedAttempts = 0;
    this.options.logger.info({ version: this.snapshot?.version, reconnects: this.reconnects }, 'config connection restored: snapshot reloaded');
  }

  /** Reads the state afresh: it changes across awaits, which narrowing cannot see. */
  private is(state: State): boolean {
    return this.state === state;
  }

  private nextVersion(): number {
    return (this.snapshot?.version ?? 0) + 1;
  }

  /** The one assignment readers see. */
  private swap(snapshot: Snapshot, reason: SnapshotReason): void {
    this.snapshot = snapshot;
    this.lastReloadAt = this.clock.now();
    const level = reason.kind === 'changes' ? 'debug' : 'info';
    this.options.logger[level]({ version: snapshot.version, reason: reason.kind, changes: reason.kind === 'changes' ? reason.changes.length : undefined }, 'config snapshot swapped');
    try {
      this.emit('snapshot', snapshot, reason);
    } catch (error) {
      // A subscriber's bug must not look like a lost connection.
      this.options.logger.error({ err: error }, 'config snapshot subscriber threw');
    }
  }
}
