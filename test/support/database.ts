import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { createDataSource } from '../../ormconfig';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../app/embedded-database';

/**
 * One PostgreSQL server for the whole run: `DATABASE_URL` when set, else an embedded one in a
 * temporary directory. Migrations run once into a template database; every test file clones it
 * (`CREATE DATABASE ... TEMPLATE`), so files never see each other's rows.
 */
interface TestServer {
  readonly adminUrl: URL;
  readonly template: string;
  readonly embedded: EmbeddedDatabase | null;
  readonly tempDir: string | null;
}

let server: TestServer | null = null;
let counter = 0;

function urlFor(database: string): string {
  const url = new URL((server as TestServer).adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: (server as TestServer).adminUrl.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function startTestServer(): Promise<void> {
  const configured = process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | null = null;
  let tempDir: string | null = null;
  if (configured === undefined || configured === '') {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-test-'));
    // PostgreSQL runs as the postgres user when we are root: it must be able to enter the directory.
    await chmod(tempDir, 0o755);
    embedded = await startEmbeddedDatabase({ dir: path.join(tempDir, 'postgres'), logger: pino({ level: 'silent' }), database: 'postgres', durable: false });
  }
  const template = `tf_template_${process.pid}`;
  server = { adminUrl: new URL(embedded?.url ?? (configured as string)), template, embedded, tempDir };
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${template}`);
    await client.query(`CREATE DATABASE ${template}`);
  });
  const dataSource = createDataSource({ url: urlFor(template), poolSize: 1 });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await dataSource.destroy();
  }
}

export async function stopTestServer(): Promise<void> {
  if (server === null) return;
  const { template, embedded, tempDir } = server;
  await admin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`tf_${process.pid}_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  });
  await embedded?.stop();
  if (tempDir !== null) await rm(tempDir, { recursive: true, force: true });
  server = null;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own: a clone of the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (server === null) throw new Error('the test database server is not started (test/support/hooks)');
  const name = `tf_${process.pid}_${++counter}`;
  const template = server.template;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    url: urlFor(name),
    name,
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
