import { parentPort, workerData } from 'node:worker_threads';
import { Client, Pool } from 'pg';
import { DATABASE_CONNECT_TIMEOUT_MS } from '../app/connect-timeout';
import { createLogger } from '../app/logger';
import type { LogLevel } from '../app/config';
import { systemClock } from './clock';
import { ChannelCounter, type ChannelCounterBuffers } from './calls/channel-counter';
import { WorkerCounters } from './calls/counters';
import { BatchRecorder } from './calls/recorder';
import { RequestHandler } from './calls/request-handler';
import { SOJOURN_INTERVAL_MS, SojournGuard } from './calls/sojourn-guard';
import { ConfigListener } from './config/listener';
import type { Snapshot } from './config/snapshot';
import { DatagramPort } from './edge/datagram-port';
import { handoffNow } from './edge/handoff-clock';
import { KEEP_INTERVAL_MS, type EdgeToWorker, type SendsMessage, type WorkerToEdge } from './edge/protocol';
import { NonceService } from './registrar/nonce';
import { Registrar } from './registrar/registrar';
import { SharedFailureThrottle, type ThrottleBuffers } from './registrar/throttle';
import { Containment } from './sip/containment';
import { threadRandomPool } from './sip/random-pool';
import { createSipStack, newTag } from './sip/stack';
import { createWebhookClient } from '../net/webhook-client';
import type { HealthEvidence } from '../domain/trunk-health';
import { TrialCounter, type TrialCounterBuffers } from './health/trial-counter';
import { isLocalHealthMessage, LocalHealthView } from './health/local-view';
import { isProbeTargetsMessage } from './health/probe-target';
import { Prober } from './health/prober';

/** What the SIP role hands each worker thread. */
export interface SipWorkerData {
  readonly index: number;
  readonly nodeId: string;
  readonly databaseUrl: string;
  readonly realm: string;
  readonly publicAddress: string;
  readonly publicPort: number;
  readonly logLevel: LogLevel;
  readonly counter: ChannelCounterBuffers;
  /** The REGISTER failure throttle, one per node (it outlives a worker restart). */
  readonly registerThrottle: ThrottleBuffers;
  /** Shared by all workers so any of them can check a nonce another issued. */
  readonly nonceSecret: Uint8Array;
  /** Timer C of the PBX branch. */
  readonly timerCMs: number;
  /** Calls to DOWN trunks, counted across the node's workers for trial calls. */
  readonly trials: TrialCounterBuffers;
  /** How long one second of a session interval or of the maximum call length lasts (1000; tests shorten it). */
  readonly dialogSecondMs: number;
}

const HEALTH_INTERVAL_MS = 1000;
const UNPIN_FLUSH_MS = 100;
const DRAIN_HEALTH_INTERVAL_MS = 200;
const COUNTERS_INTERVAL_MS = 10_000;

/**
 * A SIP worker thread: a config snapshot kept current over LISTEN, one `sip` stack over the
 * datagram port the edge feeds, the registrar and the call path. Everything is built here and
 * passed in; nothing below reads the environment.
 */
async function main(data: SipWorkerData): Promise<void> {
  const edge = parentPort;
  if (edge === null) throw new Error('worker-main runs in a worker thread');
  const worker = `${data.nodeId}/w${data.index}`;
  const logger = createLogger(data.logLevel).child({ worker });
  // New calls are shed while datagrams wait too long for this thread (calls/sojourn-guard.ts);
  // the edge hears of each change, and refuses the new calls it would send here meanwhile.
  const sojourn = new SojournGuard();
  let overloadPosted = false;
  const postOverload = (): void => {
    if (sojourn.isOverloaded() === overloadPosted) return;
    overloadPosted = sojourn.isOverloaded();
    post({ type: 'overload', overloaded: overloadPosted });
  };
  const port = new DatagramPort(edge, {
    onSojourn: (now, sojournMs) => {
      sojourn.observe(now, sojournMs);
      postOverload();
    },
  });
  // Everything for the edge goes through the port, behind the sends queued before it.
  const post = (message: Exclude<WorkerToEdge, SendsMessage>) => port.post(message);

  const listener = new ConfigListener({
    connect: async () => {
      const client = new Client({ connectionString: data.databaseUrl, application_name: `trunk-failover-sip-listen-${data.index}`, keepAlive: true, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
      await client.connect();
      return client;
    },
    logger,
  });
  await listener.start();
  // The edge refuses INVITEs from other sources itself (edge/admission.ts): it gets the carriers'
  // CIDRs at start and again whenever a swap changed the carrier list.
  let carriersPosted: Snapshot['carriers'] | null = null;
  const postCarriers = (snapshot: Snapshot): void => {
    if (snapshot.carriers === carriersPosted) return;
    carriersPosted = snapshot.carriers;
    post({ type: 'carriers', version: snapshot.version, sourceCidrs: snapshot.carriers.flatMap((carrier) => carrier.sourceCidrs) });
  };
  postCarriers(listener.current());
  listener.on('snapshot', postCarriers);
  // Tests (and operators reading debug logs) learn when a configuration change is in effect here.
  listener.on('snapshot', (snapshot, reason) =>
    post({
      type: 'event',
      payload: {
        kind: 'snapshot',
        version: snapshot.version,
        reason: reason.kind,
        changes: reason.kind === 'changes' ? reason.changes.slice(0, 100).map((change) => `${change.table}:${change.id}`) : ['*'],
      },
    }),
  );
  const pool = new Pool({ connectionString: data.databaseUrl, max: 3, application_name: `trunk-failover-sip-${data.index}`, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
  pool.on('error', (error) => logger.warn({ err: error }, 'database pool error'));
  const recorder = new BatchRecorder({ pool, logger });
  const channels = ChannelCounter.attach(data.counter, data.index);
  const counters = new WorkerCounters();
  let accepting = true;
  let unpinned: string[] = [];

  // The node's own view of trunk health while it cannot reach the database, laid over the snapshot.
  const localHealth = new LocalHealthView();
  const routingSnapshot = () => localHealth.apply(listener.current());
  const evidence = (trunkId: string, item: HealthEvidence) => post({ type: 'evidence', trunkId, evidence: item });
  let handler: RequestHandler | null = null;
  const stack = createSipStack({
    socket: port,
    publicAddress: data.publicAddress,
    publicPort: data.publicPort,
    logger,
    onRequest: (request, remote) => handler?.handle(request, remote),
    onDrop: (reason) => counters.drop(reason),
    onFault: (callId) => handler?.abort(callId),
  });
  const registrar = new Registrar({
    port: stack,
    pool,
    clock: systemClock,
    logger,
    realm: data.realm,
    nonces: new NonceService(Buffer.from(data.nonceSecret), systemClock),
    throttle: SharedFailureThrottle.attach(data.registerThrottle, data.index),
    counters,
    snapshot: () => listener.current(),
    evidence,
  });
  handler = new RequestHandler({
    port: stack,
    clock: systemClock,
    channels,
    recorder,
    registrar,
    logger,
    counters,
    timerCMs: data.timerCMs,
    dialogSecondMs: data.dialogSecondMs,
    worker,
    snapshot: routingSnapshot,
    trials: TrialCounter.attach(data.trials),
    evidence,
    unpin: (callId) => unpinned.push(callId),
    accepting: () => accepting,
    overloaded: () => sojourn.isOverloaded(),
    webhookClient: createWebhookClient(),
  });
  const live = handler;
  // OPTIONS probes of the bindings the main thread gives this worker; their results are evidence.
  const prober = new Prober({
    port: stack,
    clock: systemClock,
    random: Math.random,
    newCallId: () => `${threadRandomPool.hex(12)}@${data.publicAddress.includes(':') ? `[${data.publicAddress}]` : data.publicAddress}`,
    newTag,
    onResult: (result) => post({ type: 'evidence', trunkId: result.trunkId, evidence: { kind: 'Probe', ok: result.ok }, probe: { at: result.at, rttMs: result.rttMs } }),
    unpin: (callId) => unpinned.push(callId),
  });

  const postHealth = () => post({ type: 'health', liveCalls: live.liveCalls() });
  const postCounters = () => post({ type: 'event', payload: { kind: 'counters', ...counters.snapshot(), recorder: recorder.stats(), sojourn: sojourn.stats() } });
  let healthTimer = setInterval(postHealth, HEALTH_INTERVAL_MS);
  const timers = [
    // The node logs these once a minute; a few samples in between are plenty.
    setInterval(postCounters, COUNTERS_INTERVAL_MS),
    setInterval(() => {
      if (unpinned.length === 0) return;
      post({ type: 'unpin', callIds: unpinned });
      unpinned = [];
    }, UNPIN_FLUSH_MS),
    setInterval(() => post({ type: 'keep', callIds: live.liveCallIds() }), KEEP_INTERVAL_MS),
    // An overloaded worker the edge sends no new calls may get no datagram at all: the quiet ends it.
    setInterval(() => {
      sojourn.tick(handoffNow());
      postOverload();
    }, SOJOURN_INTERVAL_MS),
  ];

  const stop = async (): Promise<void> => {
    for (const timer of [...timers, healthTimer]) clearInterval(timer);
    prober.stop();
    live.stop();
    await recorder.close();
    await listener.stop();
    stack.destroy();
    await pool.end();
    logger.info('worker stopped');
    process.exit(0);
  };

  edge.on('message', (message: EdgeToWorker) => {
    switch (message.type) {
      case 'drain':
        accepting = false;
        logger.info({ liveCalls: live.liveCalls() }, 'draining');
        // Report often while draining, so the supervisor stops this worker as soon as it is empty.
        clearInterval(healthTimer);
        healthTimer = setInterval(postHealth, DRAIN_HEALTH_INTERVAL_MS);
        postHealth();
        return;
      case 'stop':
        void stop();
        return;
      case 'control':
        // `{ cmd: 'counters' }`: report now rather than at the next interval (tests, operators' tools).
        if ((message.payload as { cmd?: unknown } | null)?.cmd === 'counters') postCounters();
        if (isLocalHealthMessage(message.payload)) localHealth.set(message.payload.trunkId, message.payload.health);
        else if (isProbeTargetsMessage(message.payload)) prober.update(message.payload.targets);
        return;
      default:
        return;
    }
  });
  // Last resort, once the worker is up: a throw in a timer or event handler that nothing caught
  // costs the work it was doing, not the thread and every call on it. Each call's state is its own,
  // so the others are sound. Before `ready` a throw still ends the thread, and the supervisor
  // restarts it: a worker that cannot start must not pretend to run.
  const lastResort = new Containment(logger, (reason) => counters.drop(reason));
  process.on('uncaughtException', (error) => lastResort.contain('uncaught-exception', error));
  process.on('unhandledRejection', (reason) => lastResort.contain('unhandled-rejection', reason));
  post({ type: 'ready' });
  logger.info({ snapshot: listener.current().version }, 'worker ready');
}

main(workerData as SipWorkerData).catch((error: unknown) => {
  // Thrown before the worker was ready: the supervisor sees the exit and restarts it with backoff.
  process.stderr.write(`SIP worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
