import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import {
  attemptResult,
  DEFAULT_DELIVERY_BACKOFF,
  retryDelayMs,
  trunkEventBody,
  WEBHOOK_DELIVERY_TIMEOUT_SECONDS,
  type DeliveryBackoff,
} from '../../domain/webhook-delivery';
import { createWebhookClient, type WebhookClient } from '../../net/webhook-client';
import { systemClock, type Clock, type Timer } from '../../worker/clock';
import { WebhookAllowedNetworks } from '../../schema/entities/webhook-allowed-networks.entity';
import { TRUNK_EVENT_CHANNEL } from '../subscriptions/notification-hub';

/**
 * Delivers queued trunk events to webhook endpoints, in the API role; any number of API nodes
 * run one each against the same queue (`webhook_delivery`).
 *
 * - Due deliveries are claimed with FOR UPDATE SKIP LOCKED and leased to this node for
 *   `leaseMs`; a node that dies keeps nothing: its lease runs out and another node claims them.
 * - It is nudged by LISTEN on `trunk_event` (the trigger that queues a delivery runs in the
 *   event's transaction, so the notification comes after the rows exist), wakes when the next
 *   retry is due, and polls every `pollMs` as a fallback (a lost LISTEN connection is opened
 *   again at the next poll).
 * - Each attempt is recorded (`webhook_attempt`); a failure is retried with exponential backoff
 *   and jitter until 24 h after the event (domain/webhook-delivery.ts).
 * - Nothing here runs inside a GraphQL request: the API never waits on a delivery.
 */

export interface WebhookDispatcherOptions {
  readonly backoff?: DeliveryBackoff;
  readonly pollMs?: number;
  readonly leaseMs?: number;
  /** Deliveries claimed at once; each is posted concurrently. */
  readonly batchSize?: number;
  readonly timeoutSeconds?: number;
  readonly client?: WebhookClient;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export interface WebhookDispatcher {
  /** Claims and posts everything due now; resolves when the queue has nothing due. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

interface ClaimedRow {
  id: string;
  attempts: number;
  url: string;
  secret: string;
  event_id: string;
  trunk_id: string;
  company_id: string;
  type: string;
  reason: string | null;
  at: Date;
}

// Ends in a SELECT: TypeORM answers an UPDATE ... RETURNING as [rows, count], a SELECT as rows.
const CLAIM = `
  WITH due AS (
    SELECT d.id FROM webhook_delivery d
     WHERE d.status = 'PENDING' AND d.next_attempt_at <= clock_timestamp()
       AND (d.leased_until IS NULL OR d.leased_until < clock_timestamp())
     ORDER BY d.next_attempt_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED),
  leased AS (
    UPDATE webhook_delivery d
     SET leased_until = clock_timestamp() + $2::integer * interval '1 millisecond', leased_by = $3
    FROM due, webhook_endpoint e, trunk_event t
   WHERE d.id = due.id AND e.id = d.endpoint_id AND e.deleted_at IS NULL AND t.id = d.event_id
  RETURNING d.id, d.attempts, e.url, e.secret, t.id::text AS event_id, t.trunk_id, t.company_id, t.type, t.reason, t.at)
  SELECT * FROM leased`;

/**
 * Records one attempt and the delivery's new state, if this node still holds the lease and the
 * delivery is still pending (deleting its endpoint meanwhile made it FAILED: it stays so).
 */
const RECORD = `
  WITH updated AS (
    UPDATE webhook_delivery
       SET attempts = attempts + 1,
           status = CASE WHEN $2::boolean THEN 'DELIVERED'
                         WHEN clock_timestamp() + $5::integer * interval '1 millisecond' > give_up_at THEN 'FAILED'
                         ELSE 'PENDING' END,
           next_attempt_at = CASE WHEN $2::boolean THEN next_attempt_at ELSE clock_timestamp() + $5::integer * interval '1 millisecond' END,
           leased_until = NULL, leased_by = NULL, last_status = $3, last_error = $4
     WHERE id = $1 AND leased_by = $6 AND status = 'PENDING'
    RETURNING id)
  INSERT INTO webhook_attempt (delivery_id, at, http_status, error, latency_ms)
  SELECT $1, $7, $3, $4, $8`;

/**
 * How long until a delivery can next be claimed: one leased by another node waits for its lease, not only its time.
 * NULL when nothing is pending (GREATEST skips NULLs, so the clamp to 0 applies only to a due time that exists).
 */
const NEXT_DUE = `
  SELECT CASE WHEN due IS NULL THEN NULL ELSE GREATEST(0, extract(epoch FROM due - clock_timestamp()) * 1000)::float8 END AS ms
    FROM (SELECT min(GREATEST(next_attempt_at, leased_until)) AS due
            FROM webhook_delivery WHERE status = 'PENDING') AS pending`;

export function startWebhookDispatcher(dataSource: DataSource, logger: Logger, options: WebhookDispatcherOptions = {}): WebhookDispatcher {
  const clock = options.clock ?? systemClock;
  const client = options.client ?? createWebhookClient({ clock });
  const backoff = options.backoff ?? DEFAULT_DELIVERY_BACKOFF;
  const pollMs = options.pollMs ?? 5_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 10;
  const timeoutSeconds = options.timeoutSeconds ?? WEBHOOK_DELIVERY_TIMEOUT_SECONDS;
  const random = options.random ?? Math.random;
  const node = randomUUID();
  const log = logger.child({ component: 'webhook-dispatcher' });

  let stopped = false;
  let listener: Client | null = null;
  let connecting: Promise<void> | null = null;
  let timer: Timer | null = null;
  let running: Promise<void> | null = null;
  let again = false;

  async function allowedCidrs(): Promise<string[]> {
    const [row] = await dataSource.getRepository(WebhookAllowedNetworks).find();
    return row === undefined ? [] : [...row.cidrs];
  }

  async function attempt(row: ClaimedRow, cidrs: readonly string[]): Promise<void> {
    const body = trunkEventBody({ id: row.event_id, trunkId: row.trunk_id, companyId: row.company_id, type: row.type, reason: row.reason, at: row.at });
    const at = new Date(clock.now());
    const started = process.hrtime.bigint();
    const answer = await client.send({ url: row.url, timeoutSeconds, secret: row.secret, body, allowedCidrs: cidrs });
    const latencyMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    const result = attemptResult(answer);
    const delayMs = result.delivered ? 0 : retryDelayMs(row.attempts + 1, backoff, random);
    await dataSource.query(RECORD, [row.id, result.delivered, result.httpStatus, result.error, delayMs, node, at, latencyMs]);
    // Neither the URL (it may carry a token) nor the secret is logged.
    log.info(
      { deliveryId: row.id, eventId: row.event_id, attempt: row.attempts + 1, httpStatus: result.httpStatus, error: result.error, latencyMs, retryInMs: result.delivered ? null : delayMs },
      result.delivered ? 'webhook delivered' : 'webhook attempt failed',
    );
  }

  async function drainOnce(): Promise<number> {
    const rows = (await dataSource.query(CLAIM, [batchSize, leaseMs, node])) as ClaimedRow[];
    if (rows.length === 0) return 0;
    const cidrs = await allowedCidrs();
    await Promise.all(rows.map((row) => attempt(row, cidrs)));
    return rows.length;
  }

  function schedule(ms: number): void {
    timer?.cancel();
    if (stopped) return;
    timer = clock.after(Math.max(0, Math.min(ms, pollMs)), () => {
      timer = null;
      void nudge();
    });
  }

  async function cycle(): Promise<void> {
    if (listener === null) await listen();
    do {
      again = false;
      while (!stopped && (await drainOnce()) > 0);
    } while (again && !stopped);
    const [next] = (await dataSource.query(NEXT_DUE)) as { ms: number | null }[];
    schedule(next?.ms ?? pollMs);
  }

  function nudge(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running !== null) {
      again = true;
      return running;
    }
    running = cycle()
      .catch((error: unknown) => {
        log.warn({ err: error }, 'webhook delivery cycle failed; retrying at the next poll');
        schedule(pollMs);
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function listen(): Promise<void> {
    connecting ??= (async () => {
      const url = (dataSource.options as { readonly url?: string }).url;
      const connection = new Client({ connectionString: url, application_name: 'trunk-failover-webhooks' });
      const lost = (error?: Error): void => {
        if (listener !== connection) return;
        listener = null;
        if (!stopped) log.warn({ err: error }, 'webhook LISTEN connection lost; polling until it is back');
        connection.end().catch(() => undefined);
      };
      connection.on('error', lost);
      connection.on('end', () => lost());
      connection.on('notification', () => void nudge());
      try {
        await connection.connect();
        await connection.query(`LISTEN ${TRUNK_EVENT_CHANNEL}`);
        if (stopped) await connection.end();
        else listener = connection;
      } catch (error) {
        connection.end().catch(() => undefined);
        log.warn({ err: error }, 'webhook LISTEN connection failed; polling');
      }
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  void nudge();

  return {
    drain: () => nudge(),
    async stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
      await running;
      await connecting;
      const connection = listener;
      listener = null;
      await connection?.end().catch(() => undefined);
    },
  };
}
