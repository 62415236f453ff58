import type { Client, Notification } from 'pg';
import type { Logger } from 'pino';
import { CONFIG_CHANNEL, parseConfigChange, type ConfigChange } from '../../schema/config-change';
import { systemClock, type Clock, type Timer } from '../../worker/clock';

/** Each insert into `trunk_event` (migrations/…TrunkHealth.ts): `{"id", "companyId", "trunkId"}`. */
export const TRUNK_EVENT_CHANNEL = 'trunk_event';
/** A key revoked or deleted (migrations/…ApiKeyRevokedNotify.ts): `{"id"}`, `*` for every key. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';
/** Stands for every key in an `api_key_revoked` notification and in `onApiKeyRevoked`. */
export const EVERY_KEY = '*';

const CHANNELS = [TRUNK_EVENT_CHANNEL, CONFIG_CHANNEL, API_KEY_REVOKED_CHANNEL] as const;

export interface HubBackoff {
  /** Ceiling of the first delay; doubles per failed attempt. */
  readonly initialMs: number;
  readonly maxMs: number;
}

export const HUB_BACKOFF: HubBackoff = { initialMs: 100, maxMs: 10_000 };

export interface NotificationHubOptions {
  /** A new, connected client for the LISTEN connection. */
  readonly connect: () => Promise<Client>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly backoff?: HubBackoff;
  /** Uniform in [0, 1): the jitter source. */
  readonly random?: () => number;
}

export type Unsubscribe = () => void;

/** Callbacks by key; a key with no callback left is dropped, so an idle hub holds nothing. */
class Watchers<A extends unknown[]> {
  private readonly byKey = new Map<string, Set<(...args: A) => void>>();

  add(key: string, callback: (...args: A) => void): Unsubscribe {
    let set = this.byKey.get(key);
    if (set === undefined) this.byKey.set(key, (set = new Set()));
    set.add(callback);
    return () => {
      set.delete(callback);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    };
  }

  /** Calls the callbacks of `key`, or of every key when `key` is null. */
  call(key: string | null, logger: Logger, ...args: A): void {
    const sets = key === null ? [...this.byKey.values()] : [this.byKey.get(key) ?? new Set()];
    for (const callback of sets.flatMap((set) => [...set])) {
      try {
        callback(...args);
      } catch (error) {
        logger.error({ err: error }, 'subscription notification callback threw');
      }
    }
  }

  keys(): number {
    return this.byKey.size;
  }

  count(): number {
    let total = 0;
    for (const set of this.byKey.values()) total += set.size;
    return total;
  }
}

function idOf(payload: string | undefined, field: 'id' | 'companyId'): string | null {
  try {
    const value: unknown = JSON.parse(payload ?? '');
    const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    return typeof id === 'string' && id !== '' ? id : null;
  } catch {
    return null;
  }
}

const ignoreError = (): void => undefined;

/** Registration nudges waiting for their lookup, at most: past it, every watched trunk re-reads. */
export const MAX_PENDING_REGISTRATIONS = 1_000;

/**
 * The API node's one LISTEN connection, shared by every subscription it serves. Notifications are
 * nudges: a feed told "something changed for this company or trunk" re-reads the table, which is
 * the truth. After every (re)connect `onResync` callbacks run, because anything could have been
 * missed while the connection was down. A lost connection is retried with exponential backoff
 * and full jitter; the feeds keep serving what they read and poll meanwhile.
 */
export class NotificationHub {
  private readonly clock: Clock;
  private readonly backoff: HubBackoff;
  private readonly random: () => number;
  private readonly trunkEvents = new Watchers<[]>();
  private readonly trunks = new Watchers<[]>();
  private readonly revocations = new Watchers<[keyId: string]>();
  private readonly resyncs = new Watchers<[]>();
  private client: Client | null = null;
  private stopped = false;
  private reconnectTimer: Timer | null = null;
  private failedAttempts = 0;
  /** Queries on the LISTEN client run one at a time. */
  private queries: Promise<unknown> = Promise.resolve();
  /** Registrations nudged and not yet looked up: looked up together, one query at a time. */
  private readonly registrations = new Set<string>();
  private lookingUp = false;
  private detach: (() => void) | null = null;

  constructor(private readonly options: NotificationHubOptions) {
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? HUB_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  /** Starts connecting; a failure is retried in the background, never thrown. */
  start(): void {
    void this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    if (client !== null) await this.release(client);
    await this.queries.catch(() => undefined);
  }

  isConnected(): boolean {
    return this.client !== null;
  }

  /** A new event of `companyId` was committed. */
  onTrunkEvent(companyId: string, callback: () => void): Unsubscribe {
    return this.trunkEvents.add(companyId, callback);
  }

  /** The trunk, its health or one of its registrations changed (or may have). */
  onTrunk(trunkId: string, callback: () => void): Unsubscribe {
    return this.trunks.add(trunkId, callback);
  }

  /** A key stopped being valid; `EVERY_KEY` when every stored key did. */
  onApiKeyRevoked(callback: (keyId: string) => void): Unsubscribe {
    return this.revocations.add('', callback);
  }

  /** The connection was (re)established: notifications may have been missed before it. */
  onResync(callback: () => void): Unsubscribe {
    return this.resyncs.add('', callback);
  }

  /** Callbacks registered now, for the tests that prove a finished subscription leaves none. */
  watcherCount(): number {
    return this.trunkEvents.count() + this.trunks.count() + this.revocations.count() + this.resyncs.count();
  }

  private async open(): Promise<void> {
    let client: Client;
    try {
      client = await this.options.connect();
    } catch (error) {
      this.retry(error);
      return;
    }
    if (this.stopped) {
      await this.release(client);
      return;
    }
    this.attach(client);
    try {
      for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      // A lost connection was already released and retried by its handler.
      if (this.client !== client) return;
      this.client = null;
      await this.release(client);
      this.retry(error);
      return;
    }
    if (this.client !== client) return;
    if (this.failedAttempts > 0) this.options.logger.info({ attempts: this.failedAttempts }, 'subscription notifications restored');
    this.failedAttempts = 0;
    this.resyncs.call(null, this.options.logger);
  }

  private retry(error: unknown): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    // The first failure is worth an operator's attention; the attempts after it are not.
    const level = this.failedAttempts === 0 ? 'warn' : 'debug';
    this.options.logger[level]({ err: error, attempt: this.failedAttempts + 1 }, 'subscription notifications not connected: retrying');
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failedAttempts);
    this.failedAttempts++;
    this.reconnectTimer = this.clock.after(Math.floor(this.random() * ceiling), () => {
      this.reconnectTimer = null;
      void this.open();
    });
  }

  private attach(client: Client): void {
    this.client = client;
    const onNotification = (message: Notification): void => {
      if (this.client === client) this.dispatch(client, message);
    };
    const onLost = (error?: Error): void => {
      if (this.client !== client) return;
      this.client = null;
      void this.release(client);
      this.retry(error ?? new Error('connection ended'));
    };
    const onEnd = (): void => onLost();
    client.on('notification', onNotification);
    client.on('error', onLost);
    client.on('end', onEnd);
    this.detach = () => {
      client.off('notification', onNotification);
      client.off('error', onLost);
      client.off('end', onEnd);
    };
  }

  /** Detaches our handlers and ends the client; a late socket error must not crash the process. */
  private async release(client: Client): Promise<void> {
    this.detach?.();
    this.detach = null;
    client.on('error', ignoreError);
    await client.end().catch(() => undefined);
  }

  private dispatch(client: Client, message: Notification): void {
    const { logger } = this.options;
    switch (message.channel) {
      case TRUNK_EVENT_CHANNEL: {
        const companyId = idOf(message.payload, 'companyId');
        this.trunkEvents.call(companyId, logger);
        return;
      }
      case API_KEY_REVOKED_CHANNEL: {
        this.revocations.call(null, logger, idOf(message.payload, 'id') ?? EVERY_KEY);
        return;
      }
      case CONFIG_CHANNEL: {
        const change = parseConfigChange(message.payload ?? '');
        if (change === null) this.trunks.call(null, logger);
        else this.onConfigChange(client, change);
        return;
      }
    }
  }

  private onConfigChange(client: Client, change: ConfigChange): void {
    const { logger } = this.options;
    if (this.trunks.keys() === 0) return;
    if (change.id === '*' && ['trunk', 'trunk_health', 'registration'].includes(change.table)) {
      this.trunks.call(null, logger);
      return;
    }
    switch (change.table) {
      case 'trunk':
      case 'trunk_health':
        this.trunks.call(change.id, logger);
        return;
      case 'registration':
        // The nudge names the binding, not its trunk: it is looked up with the others nudged meanwhile.
        // Past MAX_PENDING_REGISTRATIONS (a burst of REGISTERs) every watched trunk re-reads instead.
        if (this.registrations.size >= MAX_PENDING_REGISTRATIONS) {
          this.registrations.clear();
          this.trunks.call(null, logger);
          return;
        }
        this.registrations.add(change.id);
        if (!this.lookingUp) this.lookUpRegistrations(client);
        return;
      default:
        return;
    }
  }

  /**
   * Wakes the trunks of the registrations nudged so far, in one query; then those nudged while it
   * ran. A binding not found was deleted, and its trunk is unknown: every watched trunk re-reads.
   */
  private lookUpRegistrations(client: Client): void {
    const ids = [...this.registrations];
    this.registrations.clear();
    this.lookingUp = true;
    const { logger } = this.options;
    this.queries = this.queries
      .then(() => client.query<{ id: string; trunk_id: string }>('SELECT id, trunk_id FROM registration WHERE id = ANY($1::uuid[])', [ids]))
      .then(
        ({ rows }) => {
          if (rows.length < ids.length) this.trunks.call(null, logger);
          else for (const trunkId of new Set(rows.map((row) => row.trunk_id))) this.trunks.call(trunkId, logger);
        },
        () => this.trunks.call(null, logger),
      )
      .finally(() => {
        this.lookingUp = false;
        if (this.registrations.size > 0 && this.client === client) this.lookUpRegistrations(client);
      });
  }
}
