import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../app/embedded-database';
import { createDataSource } from '../ormconfig';
import type { ConfigChange } from '../schema/config-change';
import { ConfigListener } from '../worker/config/listener';
import { applyChanges, loadSnapshot } from '../worker/config/load';
import type { Snapshot } from '../worker/config/snapshot';

/**
 * How long a SIP worker takes to load its configuration snapshot, and to apply one change.
 * Seeds a fresh database (DATABASE_URL's server, else an embedded one) with 10,000 trunks,
 * 20,000 numbers, 10,000 registrations, 1,000 dial plans and 20 carriers, then measures:
 * the full load, applyChanges for one registration / trunk / number change, the NOTIFY-to-swap
 * latency through ConfigListener, and carrierOf. Not run by the tests:
 * `npx tsc -p . && node --expose-gc dist/bench/config-reload.js`.
 */
const SIZE = { companies: 100, plansPerCompany: 10, trunks: 10_000, numbersPerTrunk: 2, carriers: 20, cidrsPerCarrier: 5 };
const FULL_RUNS = 15;
const APPLY_RUNS = 300;
const NOTIFY_RUNS = 100;
const CARRIER_LOOKUPS = 2_000_000;

const FLOW = JSON.stringify({ entryStepId: 'busy', steps: [{ id: 'busy', app: 'HANGUP', hangup: { status: 486 }, exits: [] }] });

async function seed(db: Client): Promise<void> {
  const { companies, plansPerCompany, trunks, numbersPerTrunk, carriers, cidrsPerCarrier } = SIZE;
  await db.query(`INSERT INTO company (id, name, time_zone) SELECT md5('company' || i)::uuid, 'Company ' || i, 'Europe/London' FROM generate_series(1, ${companies}) i`);
  await db.query(
    `INSERT INTO dial_plan (id, company_id, name, internal_number, flow)
     SELECT md5('plan' || i)::uuid, md5('company' || (i % ${companies} + 1))::uuid, 'Plan ' || i, i::text, '${FLOW}'
     FROM generate_series(1, ${companies * plansPerCompany}) i`,
  );
  await db.query(
    `INSERT INTO trunk (id, company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, max_concurrent_calls,
       failover_enabled, failover_dial_plan_id)
     SELECT md5('trunk' || i)::uuid, md5('company' || (i % ${companies} + 1))::uuid, 'Trunk ' || i, 'pbx' || i, 'trunks.test',
       md5('a' || i), encode(sha256(('b' || i)::bytea), 'hex'), 10,
       i % 2 = 0, CASE WHEN i % 2 = 0 THEN md5('plan' || ((i - 1) % ${companies * plansPerCompany} + 1))::uuid END
     FROM generate_series(1, ${trunks}) i`,
  );
  await db.query(
    `INSERT INTO did (number, trunk_id)
     SELECT '+44207' || lpad(n::text, 7, '0'), md5('trunk' || ((n - 1) / ${numbersPerTrunk} + 1))::uuid
     FROM generate_series(1, ${trunks * numbersPerTrunk}) n`,
  );
  await db.query(
    `INSERT INTO registration (id, trunk_id, contact, source_address, source_port, expires_at, user_agent)
     SELECT md5('registration' || i)::uuid, md5('trunk' || i)::uuid, 'sip:pbx' || i || '@10.0.0.1:5060', '203.0.113.' || (i % 250 + 1),
       5060, now() + interval '1 hour', 'Bench PBX/1.0'
     FROM generate_series(1, ${trunks}) i`,
  );
  await db.query(
    `INSERT INTO carrier (name, source_cidrs)
     SELECT 'Carrier ' || c, array(SELECT '10.' || c || '.' || k || '.0/24' FROM generate_series(1, ${cidrsPerCarrier}) k) || '{2001:db8::/32}'::text[]
     FROM generate_series(1, ${carriers}) c`,
  );
  await db.query(`INSERT INTO outbound_gateway (uri) VALUES ('sip:gw.example')`);
  await db.query('ANALYZE');
}

async function time<T>(work: () => Promise<T>): Promise<[number, T]> {
  const began = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - began) / 1e6, result];
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(2)} ms, p90 ${at(0.9).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, min ${sorted[0].toFixed(2)} ms (${samples.length} runs)`;
}

async function measureApply(db: Client, label: string, mutate: (run: number) => Promise<ConfigChange>): Promise<string> {
  let snapshot = await loadSnapshot(db, 1);
  const samples: number[] = [];
  for (let run = 0; run < APPLY_RUNS; run++) {
    const change = await mutate(run);
    const [ms, next] = await time(() => applyChanges(snapshot, [change], db, snapshot.version + 1));
    snapshot = next;
    if (run >= 10) samples.push(ms);
  }
  return `applyChanges, one ${label}: ${stats(samples)}`;
}

async function measureNotifyToSwap(url: string, coalesceMs: number): Promise<string> {
  const listener = new ConfigListener({
    connect: async () => {
      const client = new Client({ connectionString: url, application_name: 'bench-config-listener' });
      await client.connect();
      return client;
    },
    logger: pino({ level: 'silent' }),
    coalesceMs,
  });
  await listener.start();
  const writer = new Client({ connectionString: url });
  await writer.connect();
  const samples: number[] = [];
  try {
    for (let run = 0; run < NOTIFY_RUNS; run++) {
      const id = `md5('registration${(run % SIZE.trunks) + 1}')::uuid`;
      const swapped = new Promise<Snapshot>((resolve) => listener.once('snapshot', resolve));
      const [ms] = await time(async () => {
        await writer.query(`UPDATE registration SET expires_at = now() + interval '1 hour', updated_at = clock_timestamp() WHERE id = ${id}`);
        await swapped;
      });
      if (run >= 5) samples.push(ms);
    }
  } finally {
    await writer.end();
    await listener.stop();
  }
  return `UPDATE registration committed -> snapshot swapped (ConfigListener, coalesceMs ${coalesceMs}): ${stats(samples)}`;
}

/** Heap kept alive by what `build` returns, when the process runs with --expose-gc. */
async function retainedMb(build: () => Promise<unknown>): Promise<number | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = await build();
  gc();
  const after = process.memoryUsage().heapUsed;
  return kept === null ? null : (after - before) / 2 ** 20;
}

function measureCarrierOf(snapshot: Snapshot): string {
  const addresses = ['10.20.5.77', '10.3.1.9', '192.0.2.1', '::ffff:10.20.5.77', '2001:db8::1', '2001:db9::1'];
  const lines: string[] = [];
  for (const address of addresses) {
    let found = 0;
    const began = process.hrtime.bigint();
    for (let index = 0; index < CARRIER_LOOKUPS / addresses.length; index++) if (snapshot.carrierOf(address) !== null) found++;
    const nsPerCall = Number(process.hrtime.bigint() - began) / (CARRIER_LOOKUPS / addresses.length);
    lines.push(`carrierOf(${address}) over ${SIZE.carriers * (SIZE.cidrsPerCarrier + 1)} CIDRs: ${nsPerCall.toFixed(0)} ns/call (${found > 0 ? 'match' : 'no match'})`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | null = null;
  let tempDir: string | null = null;
  let adminUrl = process.env.DATABASE_URL ?? '';
  if (adminUrl === '') {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-bench-'));
    await chmod(tempDir, 0o755);
    embedded = await startEmbeddedDatabase({ dir: path.join(tempDir, 'postgres'), logger: pino({ level: 'silent' }), database: 'postgres', durable: false });
    adminUrl = embedded.url;
  }
  const name = `tf_bench_config_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = new Client({ connectionString: url.toString() });
  try {
    const dataSource = createDataSource({ url: url.toString(), poolSize: 1 });
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'all' });
    await dataSource.destroy();
    await db.connect();
    const [seedMs] = await time(() => seed(db));

    const full: number[] = [];
    let snapshot: Snapshot | null = null;
    for (let run = 0; run < FULL_RUNS; run++) {
      const [ms, loaded] = await time(() => loadSnapshot(db, run + 1));
      snapshot = loaded;
      if (run >= 3) full.push(ms);
    }
    const loaded = snapshot as Snapshot;
    const retained = await retainedMb(() => loadSnapshot(db, 99));

    const registration = await measureApply(db, 'registration refresh', async (run) => {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE registration SET expires_at = now() + interval '1 hour', updated_at = clock_timestamp() WHERE id = md5('registration' || $1)::uuid RETURNING id`,
        [(run % SIZE.trunks) + 1],
      );
      return { table: 'registration', id: rows[0].id, op: 'UPDATE' };
    });
    const trunk = await measureApply(db, 'trunk update', async (run) => {
      const { rows } = await db.query<{ id: string }>(`UPDATE trunk SET max_concurrent_calls = $2 WHERE id = md5('trunk' || $1)::uuid RETURNING id`, [(run % SIZE.trunks) + 1, (run % 50) + 1]);
      return { table: 'trunk', id: rows[0].id, op: 'UPDATE' };
    });
    const number = await measureApply(db, 'number insert', async (run) => {
      const value = `+44208${String(run).padStart(7, '0')}`;
      await db.query(`INSERT INTO did (number, trunk_id) VALUES ($1, md5('trunk1')::uuid)`, [value]);
      return { table: 'did', id: value, op: 'INSERT' };
    });
    const notifyDefault = await measureNotifyToSwap(url.toString(), 10);
    const notifyImmediate = await measureNotifyToSwap(url.toString(), 0);

    const lines = [
      `config snapshot bench, Node ${process.version}, ${os.cpus().length} cores, PostgreSQL ${embedded === null ? 'from DATABASE_URL' : 'embedded'}`,
      `data: ${loaded.trunks.size} trunks, ${loaded.dids.size} numbers, ${[...loaded.registrations.values()].reduce((n, list) => n + list.length, 0)} registrations, ${loaded.dialPlans.size} dial plans, ${loaded.carriers.length} carriers (seeded in ${(seedMs / 1000).toFixed(1)} s)`,
      `loadSnapshot (full): ${stats(full)}`,
      retained === null ? 'heap retained by one snapshot: run with node --expose-gc to measure' : `heap retained by one snapshot: ${retained.toFixed(1)} MiB`,
      registration,
      trunk,
      number,
      notifyDefault,
      notifyImmediate,
      measureCarrierOf(loaded),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    if (tempDir !== null) await rm(tempDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
