import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { ChannelCounter } from '../worker/calls/channel-counter';
import type { CountersReport } from '../worker/calls/counters';
import type { RecorderStats } from '../worker/calls/recorder';
import type { SojournStats } from '../worker/calls/sojourn-guard';
import { Affinity } from '../worker/edge/affinity';
import { createEdge, type Edge } from '../worker/edge/edge';
import { LoadReporter } from '../worker/edge/load-reporter';
import { Supervisor } from '../worker/edge/supervisor';
import { limitHeapGrowth, THREAD_RESOURCE_LIMITS } from '../worker/edge/worker-heap';
import { SharedFailureThrottle } from '../worker/registrar/throttle';
import type { SipWorkerData } from '../worker/worker-main';
import { TIMER_C_MS } from '../worker/sip/timers';
import { systemClock } from '../worker/clock';
import { EvidenceBatcher } from '../worker/health/evidence-batcher';
import { HealthStore } from '../worker/health/health-store';
import type { LocalHealthMessage } from '../worker/health/local-view';
import { REGISTRATION_CHECK_MS, trunksWithLapsedRegistration } from '../worker/health/registration-check';
import { TrialCounter } from '../worker/health/trial-counter';
import { ProbeCoordinator } from '../worker/health/probe-coordinator';
import { ProbeLeases } from '../worker/health/probe-leases';
import type { Config } from './config';
import { DATABASE_CONNECT_TIMEOUT_MS } from './connect-timeout';

/** Expired bindings are deleted this often (any node may do it; doing it twice is harmless). */
const REGISTRATION_SWEEP_MS = 60_000;
/** How often the node logs its counters: what it received, dropped, sent, and each worker's state. */
const STATS_LOG_MS = 60_000;


function sum(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
}

export interface SipRole {
  readonly edge: Edge;
  readonly supervisor: Supervisor;
  readonly counter: ChannelCounter;
  stop(): Promise<void>;
}

/**
 * The SIP role: the edge owns UDP `SIP_HOST:SIP_PORT` and hands datagrams to `SIP_WORKERS`
 * worker threads by Call-ID; the supervisor restarts dead workers and gives back their calls;
 * this node's live calls per trunk go to `trunk_load` every second.
 */
/** Named after the bound port: with SIP_PORT=0, two nodes on one host must not share `trunk_load` rows. */
function nodeIdOf(port: number): string {
  return `${os.hostname()}:${port}`;
}

export interface SipRoleOptions {
  /** Timer C of the PBX branch (tests shorten it); default 180 s. */
  readonly timerCMs?: number;
  /**
   * How long one second of a session interval (RFC 4028) or of the maximum call length lasts:
   * 1000 by default; tests shorten it to see a call reaped in seconds.
   */
  readonly dialogSecondMs?: number;
  /**
   * How long one second of an OPTIONS probe interval or timeout lasts: 1000 by default; tests
   * shorten it to see a trunk go DOWN and come back in seconds.
   */
  readonly probeSecondMs?: number;
}

export async function startSipRole(config: Config, databaseUrl: string, logger: Logger, options: SipRoleOptions = {}): Promise<SipRole> {
  const log = logger.child({ role: 'sip' });
  const counterBuffers = ChannelCounter.create();
  const counter = ChannelCounter.attach(counterBuffers);
  const throttleBuffers = SharedFailureThrottle.create();
  const throttle = SharedFailureThrottle.attach(throttleBuffers);
  const nonceSecret = randomBytes(32);
  const trialBuffers = TrialCounter.create();
  // Workers advertise the bound port, which is only known once the edge has bound (SIP_PORT=0).
  let publicPort = config.sipPort;
  limitHeapGrowth();
  const supervisor = new Supervisor({
    script: path.resolve(__dirname, '..', 'worker', 'worker-main.js'),
    count: config.sipWorkers,
    resourceLimits: THREAD_RESOURCE_LIMITS,
    logger: log,
    workerData: (index): SipWorkerData => ({
      index,
      nodeId: nodeIdOf(publicPort),
      databaseUrl,
      realm: config.sipRealm,
      publicAddress: config.sipPublicAddress,
      publicPort,
      logLevel: config.logLevel,
      counter: counterBuffers,
      registerThrottle: throttleBuffers,
      nonceSecret,
      timerCMs: options.timerCMs ?? TIMER_C_MS,
      trials: trialBuffers,
      dialogSecondMs: options.dialogSecondMs ?? 1000,
    }),
  });
  supervisor.on('exit', (index, code) => {
    const returned = counter.returnWorker(index);
    throttle.releaseWorker(index);
    log.error({ worker: index, code, callsReturned: returned }, 'SIP worker died; its channels were given back');
  });
  // A drained worker stopped at the drain timeout may still have held channels.
  supervisor.on('stopped', (index) => {
    const returned = counter.returnWorker(index);
    throttle.releaseWorker(index);
    if (returned > 0) log.warn({ worker: index, callsReturned: returned }, 'stopped SIP worker still held channels; given back');
  });
  const edge = await createEdge({ host: config.sipHost, port: config.sipPort, supervisor, affinity: new Affinity(), logger: log });
  publicPort = edge.address().port;
  const nodeId = nodeIdOf(publicPort);
  try {
    await supervisor.start();
  } catch (error) {
    // start() has already stopped the workers it began.
    await edge.close();
    throw error;
  }

  const pool = new Pool({ connectionString: databaseUrl, max: 4, application_name: 'trunk-failover-sip-edge', connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
  pool.on('error', (error) => log.warn({ err: error }, 'database pool error'));
  const reporter = new LoadReporter({ pool, nodeId, entries: () => counter.entries(), logger: log });
  await reporter.start();
  const sweeper = setInterval(() => {
    pool.query(`DELETE FROM registration WHERE expires_at < now() - interval '30 seconds'`).catch((error: unknown) => {
      log.warn({ err: error }, 'expired registrations not swept');
    });
  }, REGISTRATION_SWEEP_MS);
  sweeper.unref();

  // Trunk health: the workers' evidence, batched per trunk and applied to trunk_health here.
  const batcher = new EvidenceBatcher({
    store: new HealthStore({ pool, clock: systemClock, logger: log }),
    clock: systemClock,
    logger: log,
    onLocalView: (trunkId, health) => {
      const payload: LocalHealthMessage = { kind: 'local-health', trunkId, health };
      supervisor.broadcast({ type: 'control', payload });
    },
  });
  supervisor.on('message', (_index, message) => {
    if (message.type === 'evidence') batcher.add(message.trunkId, message.evidence, message.probe);
  });
  // OPTIONS probing: this node's leased bindings, spread over its ready workers.
  const probes = new ProbeCoordinator({
    leases: new ProbeLeases({ pool, nodeId }),
    workers: supervisor,
    now: () => performance.now(),
    logger: log,
    probeSecondMs: options.probeSecondMs,
  });
  supervisor.on('ready', (index) => probes.workersChanged(index, true));
  supervisor.on('exit', (index) => probes.workersChanged(index, true));
  supervisor.on('stopped', (index) => probes.workersChanged(index, true));
  supervisor.on('draining', (index) => probes.workersChanged(index, false));
  probes.start();
  const registrationCheck = setInterval(() => {
    trunksWithLapsedRegistration(pool)
      .then((trunkIds) => {
        for (const trunkId of trunkIds) batcher.add(trunkId, { kind: 'Registration', registered: false });
      })
      .catch((error: unknown) => log.warn({ err: error }, 'lapsed registrations not checked'));
  }, REGISTRATION_CHECK_MS);
  registrationCheck.unref();

  // Each worker reports its counters every second; the node sums the latest of each.
  const workerCounters = new Map<number, CountersReport>();
  const workerRecords = new Map<number, Record<string, number>>();
  // Each worker's overload signal: how often it entered overload, and its latest sojourn (calls/sojourn-guard.ts).
  const workerSojourns = new Map<number, SojournStats>();
  supervisor.on('message', (index, message) => {
    const payload = message.type === 'event' ? (message.payload as { kind?: string; recorder?: RecorderStats; sojourn?: SojournStats } & Partial<CountersReport>) : null;
    if (payload?.kind !== 'counters') return;
    workerCounters.set(index, { requests: payload.requests ?? {}, drops: payload.drops ?? {}, calls: payload.calls ?? 0, foreignNonces: payload.foreignNonces ?? 0 });
    if (payload.recorder !== undefined) workerRecords.set(index, { ...payload.recorder });
    if (payload.sojourn !== undefined) workerSojourns.set(index, payload.sojourn);
  });
  const statsTimer = setInterval(() => {
    const requests: Record<string, number> = {};
    const drops: Record<string, number> = {};
    let calls = 0;
    let foreignNonces = 0;
    // Call records queued, dropped at the queue limit, refused by the database, escaped: since each worker started.
    const records: Record<string, number> = {};
    for (const report of workerRecords.values()) sum(records, report);
    for (const report of workerCounters.values()) {
      sum(requests, report.requests);
      sum(drops, report.drops);
      calls += report.calls;
      foreignNonces += report.foreignNonces;
    }
    const sojourns = Object.fromEntries(workerSojourns);
    log.info({ edge: edge.stats(), health: batcher.stats(), requests, drops, calls, records, registerThrottle: throttle.stats(Date.now()), foreignNonces, workers: supervisor.health(), sojourns }, 'SIP node counters');
  }, STATS_LOG_MS);
  statsTimer.unref();

  const address = edge.address();
  log.info({ address: `${address.address}:${address.port}`, publicAddress: config.sipPublicAddress, workers: config.sipWorkers, nodeId }, 'SIP edge listening');
  return {
    edge,
    supervisor,
    counter,
    stop: async () => {
      clearInterval(sweeper);
      clearInterval(statsTimer);
      clearInterval(registrationCheck);
      await probes.stop();
      await edge.close();
      await supervisor.stop();
      await batcher.stop();
      await reporter.stop();
      await pool.end();
    },
  };
}
