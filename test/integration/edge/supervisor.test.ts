import { once } from 'node:events';
import path from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { Supervisor, type SupervisorOptions } from '../../../worker/edge/supervisor';
import type { WorkerToEdge } from '../../../worker/edge/protocol';
import type { EchoCommand, EchoEvent, EchoWorkerData } from '../../support/echo-worker';

const ECHO_WORKER = path.join(__dirname, '..', '..', 'support', 'echo-worker.js');
const logger = pino({ level: 'silent' });

function control(supervisor: Supervisor, index: number, command: EchoCommand): void {
  expect(supervisor.send(index, { type: 'control', payload: command }), `send to worker ${index}`).to.equal(true);
}

/** The next `event` from a worker that satisfies `match`. */
function nextEvent(supervisor: Supervisor, match: (event: EchoEvent, index: number) => boolean): Promise<EchoEvent> {
  return new Promise((resolve) => {
    const listener = (index: number, message: WorkerToEdge): void => {
      if (message.type !== 'event' || !match(message.payload as EchoEvent, index)) return;
      supervisor.off('message', listener);
      resolve(message.payload as EchoEvent);
    };
    supervisor.on('message', listener);
  });
}

/** The delay the supervisor chose for each restart, and how long each actually took after its exit. */
function watchRestarts(pool: Supervisor): { chosen: number[]; waited: number[] } {
  let exitedAt = 0;
  const chosen: number[] = [];
  const waited: number[] = [];
  pool.on('exit', () => (exitedAt = performance.now()));
  pool.on('restart', (_index, delayMs) => {
    chosen.push(delayMs);
    waited.push(performance.now() - exitedAt);
  });
  return { chosen, waited };
}

describe('Supervisor (real worker threads)', () => {
  let supervisor: Supervisor | null = null;

  function create(overrides: Partial<SupervisorOptions> & { mode?: (index: number) => EchoWorkerData['mode'] } = {}): Supervisor {
    const { mode, ...options } = overrides;
    supervisor = new Supervisor({
      script: ECHO_WORKER,
      workerData: (index): EchoWorkerData => ({ index, mode: mode?.(index) }),
      count: 2,
      logger,
      restartBackoff: { initialMs: 20, maxMs: 200 },
      stopGraceMs: 300,
      ...options,
    });
    return supervisor;
  }

  afterEach(async () => {
    await supervisor?.stop();
    supervisor = null;
  });

  it('starts the workers and reports their health', async () => {
    const pool = create();
    await pool.start();
    const health = pool.health();
    expect(health.map((worker) => [worker.index, worker.state, worker.liveCalls, worker.restarts])).to.deep.equal([
      [0, 'ready', 0, 0],
      [1, 'ready', 0, 0],
    ]);
    expect(new Set(health.map((worker) => worker.threadId)).size).to.equal(2);
    for (const worker of health) expect(worker.eventLoopUtilization).to.be.within(0, 1);
    control(pool, 1, { cmd: 'calls', liveCalls: 4 });
    await once(pool, 'message');
    expect(pool.health()[1].liveCalls).to.equal(4);
  });

  it('addresses one worker, or all', async () => {
    const pool = create();
    await pool.start();
    const pong = nextEvent(pool, (event) => event.kind === 'pong');
    control(pool, 1, { cmd: 'ping' });
    expect(await pong).to.include({ kind: 'pong', index: 1, threadId: pool.health()[1].threadId });
    const pongs = [nextEvent(pool, (_, index) => index === 0), nextEvent(pool, (_, index) => index === 1)];
    expect(pool.broadcast({ type: 'control', payload: { cmd: 'ping' } satisfies EchoCommand })).to.equal(2);
    expect((await Promise.all(pongs)).map((event) => event.kind)).to.deep.equal(['pong', 'pong']);
    expect(pool.send(5, { type: 'stop' })).to.equal(false);
  });

  it('restarts a worker that throws, emitting exit before restart: at once, then with growing backoff in a crash loop', async () => {
    const pool = create();
    await pool.start();
    const order: string[] = [];
    const chosen: number[] = [];
    const waited: number[] = [];
    let exitedAt = 0;
    pool.on('exit', (index, code) => {
      order.push(`exit ${index} ${code}`);
      exitedAt = performance.now();
    });
    pool.on('restart', (index, delayMs) => {
      order.push(`restart ${index}`);
      chosen.push(delayMs);
      waited.push(performance.now() - exitedAt);
    });
    for (let crash = 0; crash < 3; crash++) {
      const ready = once(pool, 'ready');
      control(pool, 1, crash === 1 ? { cmd: 'exit', code: 7 } : { cmd: 'throw' });
      expect(await ready).to.deep.equal([1]);
    }
    expect(order).to.deep.equal(['exit 1 1', 'restart 1', 'exit 1 7', 'restart 1', 'exit 1 1', 'restart 1']);
    // At once, then 20 and 40 ms: the second and third deaths came quickly, a crash loop. The
    // policy is asserted on the delays chosen; the clock only shows they were waited (a loaded
    // machine can take any time to spawn a thread, never less than the delay).
    expect(chosen).to.deep.equal([0, 20, 40]);
    expect(waited[1]).to.be.at.least(18);
    expect(waited[2]).to.be.at.least(38);
    const health = pool.health();
    expect(health[1]).to.include({ state: 'ready', restarts: 3 });
    expect(health[0]).to.include({ state: 'ready', restarts: 0 });
  });

  it('backoff is capped at maxMs', async () => {
    const pool = create({ count: 1, restartBackoff: { initialMs: 10, maxMs: 30, noneReadyMaxMs: 10_000 } });
    await pool.start();
    const { chosen, waited } = watchRestarts(pool);
    for (let crash = 0; crash < 4; crash++) {
      const ready = once(pool, 'ready');
      control(pool, 0, { cmd: 'exit', code: 1 });
      await ready;
    }
    expect(chosen).to.deep.equal([0, 10, 20, 30]);
    expect(waited[3]).to.be.at.least(28);
  });

  it('restarts at once a worker that had stayed up resetAfterMs, even after a crash loop', async () => {
    // resetAfterMs long enough that a quick second death is one on a loaded machine too.
    const pool = create({ restartBackoff: { initialMs: 300, maxMs: 300, resetAfterMs: 600 } });
    await pool.start();
    const { chosen, waited } = watchRestarts(pool);
    for (const upMs of [0, 0, 700]) {
      await new Promise((resolve) => setTimeout(resolve, upMs));
      const ready = once(pool, 'ready');
      control(pool, 1, { cmd: 'throw' });
      await ready;
    }
    expect(chosen).to.deep.equal([0, 300, 0]);
    expect(waited[1]).to.be.at.least(290);
  });

  it('never leaves the node without a ready worker for longer than noneReadyMaxMs', async () => {
    const pool = create({ count: 1, restartBackoff: { initialMs: 60_000, maxMs: 60_000, noneReadyMaxMs: 50 } });
    await pool.start();
    const { chosen, waited } = watchRestarts(pool);
    for (let crash = 0; crash < 3; crash++) {
      const ready = once(pool, 'ready');
      control(pool, 0, { cmd: 'exit', code: 1 });
      await ready;
    }
    // A crash loop with a minute's backoff, but no other worker: 50 ms each time.
    expect(chosen).to.deep.equal([0, 50, 50]);
    for (const delay of waited.slice(1)) expect(delay).to.be.at.least(45);
  });

  it('brings a long pending restart forward when the last ready worker dies', async () => {
    const pool = create({ restartBackoff: { initialMs: 60_000, maxMs: 60_000, noneReadyMaxMs: 100 } });
    await pool.start();
    // Worker 1 dies twice quickly: a crash loop, its restart a minute away while worker 0 is ready.
    const ready1 = once(pool, 'ready');
    control(pool, 1, { cmd: 'throw' });
    await ready1;
    const exit1 = once(pool, 'exit');
    control(pool, 1, { cmd: 'throw' });
    await exit1;
    expect(pool.readyWorkers()).to.deep.equal([0]);

    const restarts: [number, number][] = [];
    pool.on('restart', (index, delayMs) => restarts.push([index, delayMs]));
    const restarted1 = new Promise<void>((resolve) => pool.on('ready', (index) => index === 1 && resolve()));
    control(pool, 0, { cmd: 'throw' });
    await restarted1;
    // Worker 0 restarts at once (its first death); worker 1's minute is brought forward to 100 ms.
    expect(restarts).to.deep.include.members([[1, 100]]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.readyWorkers()).to.deep.equal([0, 1]);
  });

  it('start rejects when a worker dies before ready, and stops the others', async () => {
    const pool = create({ mode: (index) => (index === 1 ? 'fail-start' : 'normal') });
    let failure: Error | null = null;
    await pool.start().catch((error: Error) => (failure = error));
    expect(String(failure)).to.match(/SIP worker 1 exited with code 1 before it was ready/);
    expect(pool.health().map((worker) => worker.state)).to.deep.equal(['stopped', 'stopped']);
  });

  it('resize grows, and shrinks by draining: a worker with live calls stops once they end', async () => {
    const pool = create();
    await pool.start();
    await pool.resize(4);
    expect(pool.health().map((worker) => worker.state)).to.deep.equal(['ready', 'ready', 'ready', 'ready']);

    // Worker 3 holds a call; worker 2 has none.
    control(pool, 3, { cmd: 'calls', liveCalls: 1 });
    await once(pool, 'message');
    const draining: number[] = [];
    const stopped: number[] = [];
    pool.on('draining', (index) => draining.push(index));
    pool.on('stopped', (index) => stopped.push(index));
    const drained3 = nextEvent(pool, (event) => event.kind === 'drain' && event.index === 3);
    const stopped2 = once(pool, 'stopped');
    const shrink = pool.resize(2);
    expect(draining).to.deep.equal([2, 3]);
    await Promise.all([drained3, stopped2]);
    expect(stopped).to.deep.equal([2]);
    expect(pool.health().map((worker) => [worker.index, worker.state])).to.deep.equal([[0, 'ready'], [1, 'ready'], [3, 'draining']]);
    expect(pool.send(3, { type: 'control', payload: { cmd: 'ping' } })).to.equal(true);

    control(pool, 3, { cmd: 'calls', liveCalls: 0 });
    await shrink;
    expect(stopped).to.deep.equal([2, 3]);
    expect(pool.health().map((worker) => worker.index)).to.deep.equal([0, 1]);
  });

  it('a drain that outlasts drainTimeoutMs stops the worker anyway; one ignoring stop is terminated', async () => {
    const pool = create({ drainTimeoutMs: 50, stopGraceMs: 50, mode: (index) => (index === 1 ? 'ignore-stop' : 'normal') });
    await pool.start();
    control(pool, 1, { cmd: 'calls', liveCalls: 3 });
    const exits: number[] = [];
    pool.on('exit', (index) => exits.push(index));
    const began = performance.now();
    await pool.resize(1);
    expect(performance.now() - began).to.be.at.least(90);
    expect(exits).to.deep.equal([]);
    expect(pool.health().map((worker) => worker.state)).to.deep.equal(['ready']);
  });

  it('grows back into an index that is still draining once it has stopped', async () => {
    const pool = create();
    await pool.start();
    control(pool, 1, { cmd: 'calls', liveCalls: 1 });
    await once(pool, 'message');
    const shrink = pool.resize(1);
    const grow = pool.resize(2);
    control(pool, 1, { cmd: 'calls', liveCalls: 0 });
    await Promise.all([shrink, grow]);
    const health = pool.health();
    expect(health.map((worker) => worker.state)).to.deep.equal(['ready', 'ready']);
  });

  it('never restarts during stop', async () => {
    const pool = create({ restartBackoff: { initialMs: 60_000, maxMs: 60_000 } });
    await pool.start();
    let restarts = 0;
    pool.on('restart', () => restarts++);
    const exited = once(pool, 'exit');
    control(pool, 0, { cmd: 'throw' });
    await exited;
    expect(pool.health()[0].state).to.equal('restarting');
    const began = performance.now();
    await pool.stop();
    expect(performance.now() - began).to.be.below(5_000);
    expect(restarts).to.equal(0);
    expect(pool.health().map((worker) => worker.state)).to.deep.equal(['stopped', 'stopped']);
    expect(pool.send(1, { type: 'stop' })).to.equal(false);
  });
});
