import { expect } from 'chai';
import type { Client } from 'pg';
import pino from 'pino';
import { ConfigListener, type ConfigListenerOptions, type SnapshotReason } from '../../../worker/config/listener';
import type { Snapshot } from '../../../worker/config/snapshot';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { ID, TABLE_CASES } from './listener-cases';
import { connect, eventually, insertCompany, insertDialPlan, insertRegistration, insertTrunk, ManualClock, plain } from './fixtures';


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ConfigListener', () => {
  let database: TestDatabase;
  let db: Client;
  let running: ConfigListener[] = [];
  let appCounter = 0;

  before(async () => {
    database = await createTestDatabase();
    db = await connect(database.url, 'config-test-writer');
    await insertCompany(db, ID.company);
    await insertDialPlan(db, ID.plan, ID.company, '100');
    await insertTrunk(db, { id: ID.trunk, companyId: ID.company, username: 'listener-pbx', failoverDialPlanId: ID.plan });
  });
  /** Each test starts from the same rows, whatever the last one left (even when it failed half-way). */
  beforeEach(async () => {
    await db.query(`DELETE FROM registration; DELETE FROM did; DELETE FROM carrier; DELETE FROM outbound_gateway; DELETE FROM webhook_allowed_networks; DELETE FROM call_limits;
      DELETE FROM trunk WHERE id <> '${ID.trunk}'; DELETE FROM dial_plan WHERE id <> '${ID.plan}'; DELETE FROM company WHERE id <> '${ID.company}';
      UPDATE trunk SET max_concurrent_calls = 4, no_provisional_timeout_seconds = 15 WHERE id = '${ID.trunk}'`);
  });
  afterEach(async () => {
    await Promise.all(running.map((listener) => listener.stop()));
    running = [];
  });
  after(async () => {
    await db?.end();
    await database?.drop();
  });

  interface Harness {
    listener: ConfigListener;
    swaps: { snapshot: Snapshot; reason: SnapshotReason }[];
    clients: Client[];
    /** The application_name of its connections, to find (and kill) its backend. */
    app: string;
  }

  function harness(options: Partial<ConfigListenerOptions> = {}, connectHook?: () => Promise<void>): Harness {
    const app = `config-listener-${process.pid}-${++appCounter}`;
    const clients: Client[] = [];
    const listener = new ConfigListener({
      connect: async () => {
        await connectHook?.();
        const client = await connect(database.url, app);
        clients.push(client);
        return client;
      },
      logger: pino({ level: 'silent' }),
      backoff: { initialMs: 5, maxMs: 50 },
      ...options,
    });
    const swaps: Harness['swaps'] = [];
    listener.on('snapshot', (snapshot, reason) => swaps.push({ snapshot, reason }));
    running.push(listener);
    return { listener, swaps, clients, app };
  }

  async function killBackend(app: string): Promise<void> {
    const { rowCount } = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [app]);
    expect(rowCount).to.equal(1);
  }



  for (const row of TABLE_CASES) {
    it(`brings an insert, an update and a delete on ${row.table} into current()`, async () => {
      const { listener, swaps } = harness();
      await listener.start();
      for (const [sql, check] of [
        [row.insert, row.inserted],
        [row.update, row.updated],
        [row.delete, row.deleted],
      ] as const) {
        const version = listener.current().version;
        await db.query(sql);
        await eventually(() => check(listener.current()));
        expect(listener.current().version).to.be.greaterThan(version);
      }
      expect(swaps[0].reason).to.deep.equal({ kind: 'start' });
      expect(swaps.slice(1).every((swap) => swap.reason.kind === 'changes')).to.equal(true);
    });
  }

  it('start() resolves with the loaded snapshot, which current() returns', async () => {
    const { listener, swaps } = harness();
    expect(() => listener.current()).to.throw(/not loaded/);
    const snapshot = await listener.start();
    expect(listener.current()).to.equal(snapshot);
    expect(snapshot.trunksByUsername.get('listener-pbx')?.failover.dialPlanId).to.equal(ID.plan);
    expect(swaps.map((swap) => swap.snapshot)).to.deep.equal([snapshot]);
    expect(listener.health()).to.deep.include({ connected: true, version: snapshot.version, reconnects: 0 });
  });

  it('misses no commit between LISTEN and the end of the first load', async () => {
    // The write lands after the load has taken its snapshot (at its first query), before it ends.
    let injected = false;
    const hooked = harness({
      connect: async () => {
        const client = await connect(database.url, 'config-listener-hooked');
        const query = client.query.bind(client) as (text: string) => Promise<unknown>;
        Object.assign(client, {
          query: async (text: string, ...rest: unknown[]) => {
            const result = await (query as (...args: unknown[]) => Promise<unknown>)(text, ...rest);
            if (!injected && text.startsWith('SELECT id, time_zone')) {
              injected = true;
              await db.query(`UPDATE trunk SET max_concurrent_calls = 77 WHERE id = $1`, [ID.trunk]);
            }
            return result;
          },
        });
        return client;
      },
    });
    const first = await hooked.listener.start();
    expect(injected).to.equal(true);
    expect(first.trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(4, 'the load read from before the write');
    await eventually(() => expect(hooked.listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(77));
  });

  it('a carrier change swaps in a snapshot that shares the trunks map (copy-on-write)', async () => {
    const { listener } = harness();
    const before = await listener.start();
    await db.query(`INSERT INTO carrier (name, source_cidrs) VALUES ('Cow', '{192.0.2.0/24}')`);
    const after = await eventually(() => {
      const current = listener.current();
      expect(current.carriers).to.have.length(1);
      return current;
    });
    expect(after.trunks).to.equal(before.trunks);
    expect(after.trunksByUsername).to.equal(before.trunksByUsername);
    expect(after.registrations).to.equal(before.registrations);
    expect(after.carrierOf).to.not.equal(before.carrierOf);
  });

  it('coalesces a burst: 50 commits, far fewer swaps, the last value wins', async () => {
    const { listener, swaps } = harness();
    await listener.start();
    // Fifty transactions committed back to back, server-side, without waiting for each fsync: as rapid as writes get.
    await db.query(`SET synchronous_commit = off`);
    await db.query(`DO $$ BEGIN FOR n IN 1..50 LOOP UPDATE trunk SET max_concurrent_calls = n WHERE id = '${ID.trunk}'; COMMIT; END LOOP; END $$`);
    await db.query(`RESET synchronous_commit`);
    await eventually(() => expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(50));
    await sleep(50);
    const changeSwaps = swaps.filter((swap) => swap.reason.kind === 'changes');
    expect(changeSwaps.length).to.be.within(1, 5);
    expect(changeSwaps.flatMap((swap) => (swap.reason.kind === 'changes' ? swap.reason.changes : []))).to.have.length(50);
  });

  it('leaves a snapshot in use unchanged when the next one is swapped in', async () => {
    const { listener } = harness();
    const inFlight = await listener.start();
    const picture = plain(inFlight);
    const trunk = inFlight.trunks.get(ID.trunk);
    await db.query('BEGIN');
    await db.query(`UPDATE trunk SET max_concurrent_calls = 3, no_provisional_timeout_seconds = 5 WHERE id = $1`, [ID.trunk]);
    await db.query(`INSERT INTO did (number, trunk_id) VALUES ('+442079465555', $1)`, [ID.trunk]);
    await insertRegistration(db, ID.registration, ID.trunk, '2025-06-01T00:00:00Z');
    await db.query('COMMIT');
    await eventually(() => expect(listener.current().registrations.has(ID.trunk)).to.equal(true));
    expect(listener.current().version).to.be.greaterThan(inFlight.version);
    expect(plain(inFlight)).to.deep.equal(picture);
    expect(inFlight.trunks.get(ID.trunk)).to.equal(trunk);
    expect(trunk?.maxConcurrentCalls).to.equal(4);
  });

  it('reloads a truncated table', async () => {
    const { listener } = harness();
    await insertRegistration(db, ID.registration, ID.trunk, '2025-06-01T00:00:00Z');
    await db.query(`INSERT INTO carrier (name, source_cidrs) VALUES ('Gone', '{198.51.100.0/24}')`);
    await listener.start();
    expect(listener.current().registrations.size).to.equal(1);
    await db.query('TRUNCATE registration, carrier');
    await eventually(() => expect([listener.current().registrations.size, listener.current().carriers.length, listener.current().carrierOf('198.51.100.1')]).to.deep.equal([0, 0, null]));
  });

  it('reloads everything when a notification cannot be read', async () => {
    const { listener, swaps } = harness();
    await listener.start();
    // A write that notifies nothing (triggers off in this session), then a payload that is not ours.
    const silent = await connect(database.url, 'config-test-silent');
    try {
      await silent.query(`SET session_replication_role = replica`);
      await silent.query(`UPDATE trunk SET max_concurrent_calls = 11 WHERE id = $1`, [ID.trunk]);
      await silent.query(`SELECT pg_notify('config_changed', 'not json')`);
    } finally {
      await silent.end();
    }
    await eventually(() => expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(11));
    expect(swaps.at(-1)?.reason).to.deep.equal({ kind: 'resync', cause: 'unreadable notification' });
  });

  it('after its backend is killed: serves the old snapshot, reconnects, and reloads everything', async () => {
    let gate: Promise<void> | null = null;
    let openGate = (): void => undefined;
    const { listener, swaps, app } = harness({}, async () => void (await gate));
    const before = await listener.start();
    gate = new Promise((resolve) => (openGate = resolve));
    await killBackend(app);
    await eventually(() => expect(listener.health().connected).to.equal(false));
    // Committed while nobody listens: only the full reload on reconnect can see it.
    await db.query(`UPDATE trunk SET max_concurrent_calls = 42 WHERE id = $1`, [ID.trunk]);
    await sleep(50);
    expect(listener.current()).to.equal(before, 'the last snapshot keeps serving');
    expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(4);
    openGate();
    await eventually(() => expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(42));
    expect(listener.health()).to.deep.include({ connected: true, reconnects: 1 });
    expect(swaps.at(-1)?.reason).to.deep.equal({ kind: 'reconnect' });
    // And it listens again on the new connection.
    await db.query(`UPDATE trunk SET max_concurrent_calls = 4 WHERE id = $1`, [ID.trunk]);
    await eventually(() => expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(4));
  });

  it('backs off exponentially with full jitter while reconnecting fails, and starts over after success', async () => {
    const clock = new ManualClock();
    let refusals = 0;
    const { listener, app } = harness({ clock, random: () => 0.5, backoff: { initialMs: 100, maxMs: 300 } }, async () => {
      if (refusals > 0) {
        refusals--;
        throw new Error('connection refused');
      }
    });
    await listener.start();
    expect(listener.health().lastReloadAt).to.equal(clock.now());
    refusals = 3;
    await killBackend(app);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) delays.push(await clock.fireNext());
    // Half (the jitter) of min(300, 100 * 2^attempt).
    expect(delays).to.deep.equal([50, 100, 150, 150]);
    await eventually(() => expect(listener.health()).to.deep.include({ connected: true, reconnects: 1 }));
    expect(listener.health().lastReloadAt).to.equal(clock.now());
    await killBackend(app);
    expect(await clock.fireNext()).to.equal(50);
    await eventually(() => expect(listener.health().reconnects).to.equal(2));
  });

  it('a reload that fails reconnects, and keeps retrying until a reload works', async () => {
    const { listener, swaps } = harness();
    const before = await listener.start();
    await db.query(`ALTER TABLE trunk RENAME COLUMN digest_realm TO digest_realm_gone`);
    try {
      await db.query(`UPDATE trunk SET max_concurrent_calls = 6 WHERE id = $1`, [ID.trunk]);
      await eventually(() => expect(listener.health().connected).to.equal(false));
      await sleep(30);
      expect(listener.current()).to.equal(before);
    } finally {
      await db.query(`ALTER TABLE trunk RENAME COLUMN digest_realm_gone TO digest_realm`);
    }
    await eventually(() => expect(listener.current().trunks.get(ID.trunk)?.maxConcurrentCalls).to.equal(6));
    expect(listener.health().reconnects).to.equal(1);
    expect(swaps.at(-1)?.reason.kind).to.equal('reconnect');
  });

  it('stop() ends the connection and leaves no timer or socket behind', async () => {
    const resources = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
      return counts;
    };
    // After a turn of the loop: mocha arms this test's own timeout timer once the test function has returned.
    await new Promise((resolve) => setImmediate(resolve));
    const baseline = resources();
    const { listener, clients, app } = harness({ coalesceMs: 1000 });
    await listener.start();
    const ended = new Promise<void>((resolve) => clients[0].once('end', resolve));
    // A notification arms the coalescing timer; stop() must clear it.
    await db.query(`UPDATE trunk SET max_concurrent_calls = 4 WHERE id = $1`, [ID.trunk]);
    await sleep(20);
    await listener.stop();
    await ended;
    expect(listener.health().connected).to.equal(false);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [app]);
    expect(rows[0].n).to.equal(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(resources()).to.deep.equal(baseline);
    await listener.stop();
  });

  it('stop() while waiting to reconnect clears the backoff timer and connects no more', async () => {
    const clock = new ManualClock();
    let connects = 0;
    const { listener, app, clients } = harness({ clock }, async () => void connects++);
    await listener.start();
    await killBackend(app);
    await eventually(() => expect(clock.pending()).to.have.length(1));
    await listener.stop();
    expect(clock.pending()).to.deep.equal([]);
    expect(connects).to.equal(1);
    expect(clients).to.have.length(1);
  });

  it('start() rejects when the database cannot be reached, and can be tried again', async () => {
    let refuse = true;
    const { listener } = harness({}, async () => {
      if (refuse) throw new Error('connection refused');
    });
    let failure: unknown = null;
    await listener.start().catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/connection refused/);
    expect(listener.health()).to.deep.equal({ connected: false, lastReloadAt: null, version: 0, reconnects: 0 });
    refuse = false;
    expect((await listener.start()).version).to.equal(1);
  });
});
