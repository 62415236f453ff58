import { existsSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { TRUNK_EVENT_LOCK } from '../worker/health/health-store';
import { epochMs, type Arrival, type BenchTrunk, type Receiver } from './trunk-health-rig';
import { sleep } from './sip-process';

/**
 * For bench/trunk-health.ts: event delivery latency. EVENTS trunk events are inserted at EVENT_RATE
 * as the health store inserts them (one transaction each, under `pg_advisory_xact_lock(
 * TRUNK_EVENT_LOCK)`, `at` from the writer's clock), and each is timed from its commit (read here
 * when COMMIT returns) to its POST reaching the webhook receiver, and to its `next` on a
 * `trunkEvents(companyId)` subscription when the build has subscriptions (api/subscriptions/ and
 * the `ws` package): a minimal graphql-transport-ws client over `ws`, loaded at run time.
 */
export const EVENTS = 1_000;
export const EVENT_RATE = 50;
const DRAIN_MS = 30_000;

export interface Latencies {
  /** Per event delivered, ms from its commit to its first arrival. */
  readonly fromCommitMs: readonly number[];
  /** Per event delivered, ms from its `at` to its first arrival. */
  readonly fromAtMs: readonly number[];
  readonly deliveredOnce: number;
  readonly duplicates: number;
  readonly missing: number;
}

export interface EventFigures {
  readonly events: number;
  readonly insertSeconds: number;
  readonly webhook: Latencies;
  readonly subscription: Latencies | string;
}

interface Inserted {
  readonly commitAt: number;
  readonly atMs: number;
}

// ---------------------------------------------------------------- a subscription client

interface Socket {
  on(event: 'open' | 'close' | 'error' | 'message', listener: (...args: never[]) => void): unknown;
  send(data: string): void;
  close(): void;
}
type SocketClass = new (url: string, protocol: string) => Socket;

/** The `ws` package's WebSocket when installed; the module name is a variable so a build without it compiles. */
async function webSocketClass(): Promise<SocketClass | null> {
  const name = 'ws';
  try {
    const loaded = (await import(name)) as { default?: SocketClass };
    return loaded.default ?? null;
  } catch {
    return null;
  }
}

/** `trunkEvents(companyId)` over graphql-transport-ws; each event id's arrival times (a repeat is a duplicate). */
async function subscribe(apiUrl: string, key: string, companyId: string): Promise<{ arrivals: Map<string, number[]>; close: () => void } | string> {
  if (!existsSync(path.resolve(__dirname, '..', 'api', 'subscriptions'))) return 'not measured: no GraphQL subscriptions in this build (api/subscriptions/ absent)';
  const WebSocket = await webSocketClass();
  if (WebSocket === null) return 'not measured: api/subscriptions/ present but the `ws` package is not installed';
  const arrivals = new Map<string, number[]>();
  const socket = new WebSocket(apiUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const query = 'subscription ($companyId: ID!) { trunkEvents(companyId: $companyId) { id } }';
  const ready = new Promise<string | null>((resolve) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('error', (error: Error) => resolve(`not measured: the subscription socket failed: ${error.message}`));
    socket.on('close', (code: number) => resolve(`not measured: the subscription socket closed with ${code}`));
    socket.on('message', (data: Buffer) => {
      const at = epochMs();
      const message = JSON.parse(data.toString('utf8')) as { type: string; payload?: { data?: { trunkEvents?: { id: string } } } };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { companyId } } }));
        resolve(null);
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'next') {
        const id = message.payload?.data?.trunkEvents?.id;
        if (id !== undefined) arrivals.set(id, [...(arrivals.get(id) ?? []), at]);
      } else if (message.type === 'error') {
        resolve(`not measured: the subscription was refused: ${JSON.stringify(message.payload)}`);
      }
    });
  });
  const failure = await Promise.race([ready, sleep(10_000).then(() => 'not measured: no connection_ack within 10 s')]);
  if (failure !== null) {
    socket.close();
    return failure;
  }
  return { arrivals, close: () => socket.close() };
}

// ---------------------------------------------------------------- inserting and measuring

/** One event as the health store inserts one: its own transaction, under TRUNK_EVENT_LOCK. */
async function insert(pool: Pool, trunk: BenchTrunk, n: number): Promise<{ id: string } & Inserted> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [TRUNK_EVENT_LOCK]);
    const atMs = Date.now();
    const started = n % 2 === 0;
    const { rows } = await client.query<{ id: string }>('INSERT INTO trunk_event (company_id, trunk_id, type, reason, at) VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000)) RETURNING id::text AS id', [
      trunk.companyId,
      trunk.trunkId,
      started ? 'FAILOVER_STARTED' : 'FAILOVER_ENDED',
      started ? 'CALLS_FAILING' : null,
      atMs,
    ]);
    await client.query('COMMIT');
    return { id: rows[0].id, commitAt: epochMs(), atMs };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function latencies(inserted: Map<string, Inserted>, arrivals: Map<string, number[]>): Latencies {
  const fromCommitMs: number[] = [];
  const fromAtMs: number[] = [];
  let deliveredOnce = 0;
  let duplicates = 0;
  for (const [id, event] of inserted) {
    const times = arrivals.get(id);
    if (times === undefined) continue;
    if (times.length === 1) deliveredOnce++;
    duplicates += times.length - 1;
    fromCommitMs.push(times[0] - event.commitAt);
    fromAtMs.push(times[0] - event.atMs);
  }
  return { fromCommitMs, fromAtMs, deliveredOnce, duplicates, missing: [...inserted.keys()].filter((id) => !arrivals.has(id)).length };
}

function webhookArrivals(receiver: Receiver, trunk: BenchTrunk): Map<string, number[]> {
  const arrivals = new Map<string, number[]>();
  for (const arrival of receiver.arrivals.filter((one: Arrival) => one.event.trunkId === trunk.trunkId)) arrivals.set(arrival.event.id, [...(arrivals.get(arrival.event.id) ?? []), arrival.at]);
  return arrivals;
}

/**
 * One event first, not counted, awaited on every path (the dispatcher's and the subscription's
 * LISTEN are set up); then EVENTS at EVENT_RATE, and up to DRAIN_MS for the last to arrive.
 */
export async function eventStream(databaseUrl: string, apiUrl: string, receiver: Receiver, trunk: BenchTrunk): Promise<EventFigures> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const subscription = await subscribe(apiUrl, trunk.key, trunk.companyId);
  try {
    const warm = await insert(pool, trunk, 0);
    const arrived = (id: string) => webhookArrivals(receiver, trunk).has(id) && (typeof subscription === 'string' || subscription.arrivals.has(id));
    const deadline = Date.now() + DRAIN_MS;
    while (!arrived(warm.id) && Date.now() < deadline) await sleep(20);
    if (!arrived(warm.id)) throw new Error(`the first event was not delivered within ${DRAIN_MS / 1000} s`);

    const inserted = new Map<string, Inserted>();
    const began = epochMs();
    for (let n = 1; n <= EVENTS; n++) {
      const wait = began + ((n - 1) * 1000) / EVENT_RATE - epochMs();
      if (wait > 0) await sleep(wait);
      const { id, ...event } = await insert(pool, trunk, n);
      inserted.set(id, event);
    }
    const insertSeconds = (epochMs() - began) / 1000;
    const all = () => [...inserted.keys()].every(arrived);
    const drainUntil = Date.now() + DRAIN_MS;
    while (!all() && Date.now() < drainUntil) await sleep(50);
    // Late duplicates: a delivery re-posted after a lease ran out would come after its first.
    await sleep(1_000);
    return {
      events: EVENTS,
      insertSeconds,
      webhook: latencies(inserted, webhookArrivals(receiver, trunk)),
      subscription: typeof subscription === 'string' ? subscription : latencies(inserted, subscription.arrivals),
    };
  } finally {
    if (typeof subscription !== 'string') subscription.close();
    await pool.end();
  }
}
