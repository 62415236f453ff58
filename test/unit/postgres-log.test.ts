import { expect } from 'chai';
import pino from 'pino';
import { parsePostmasterPid } from '../../app/leftover-postgres';
import { classifyPostgresLine, postgresOutput, type PostgresLogLevel } from '../../app/postgres-log';

describe('embedded PostgreSQL output: the level of each line', () => {
  const rows: { line: string; previous?: PostgresLogLevel; level: PostgresLogLevel; text?: string }[] = [
    { line: '[4242] postmaster: FATAL:  lock file "postmaster.pid" already exists', level: 'error', text: 'FATAL:  lock file "postmaster.pid" already exists' },
    { line: '[4242] postmaster: HINT:  Is another postmaster (PID 4100) running in data directory "/srv/pg"?', previous: 'error', level: 'error' },
    { line: 'FATAL:  could not open file "postgresql.conf"', level: 'error' },
    { line: '[4300] checkpointer: PANIC:  could not write to file "pg_wal/xlogtemp.4300"', level: 'error' },
    { line: '[4301] autovacuum worker: ERROR:  canceling autovacuum task', level: 'error' },
    { line: '[4302] client backend: FATAL:  password authentication failed for user "postgres"', level: 'error' },
    // A statement error is answered to the application, which decides what it means (CONFLICT ...).
    { line: '[4303] client backend: ERROR:  duplicate key value violates unique constraint "uq_trunk_name"', level: 'debug' },
    { line: '[4303] client backend: DETAIL:  Key (name)=(x) already exists.', previous: 'debug', level: 'debug' },
    { line: '[4303] client backend: STATEMENT:  INSERT INTO "trunk" ("name") VALUES ($1)', previous: 'debug', level: 'debug' },
    { line: '[4303] client backend: WARNING:  there is no transaction in progress', level: 'debug' },
    { line: '[4242] postmaster: WARNING:  could not create listen socket for "::1"', level: 'warn' },
    { line: '[4242] postmaster: LOG:  database system is ready to accept connections', level: 'debug' },
    { line: '[STDERR] initdb: error: directory "/srv/pg" exists but is not empty', level: 'error', text: 'initdb: error: directory "/srv/pg" exists but is not empty' },
    { line: 'The files belonging to this database system will be owned by user "postgres".', level: 'trace' },
    { line: '[STDERR] initdb: warning: enabling "trust" authentication for local connections', level: 'trace' },
  ];
  for (const { line, previous, level, text } of rows) {
    it(`${level}: ${line.slice(0, 90)}`, () => {
      const classified = classifyPostgresLine(line, previous);
      expect(classified.level).to.equal(level);
      if (text !== undefined) expect(classified.text).to.equal(text);
    });
  }

  it('names the server process a prefixed line came from', () => {
    expect(classifyPostgresLine('[4303] client backend: LOG:  x')).to.include({ postgresPid: 4303, backend: 'client backend' });
  });

  it('logs each line of a chunk at its level and keeps the last error lines for a failed start', () => {
    const lines: { level: number; postgres: string }[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; postgres: string }) });
    const output = postgresOutput(logger);
    output.write('[1] postmaster: LOG:  starting PostgreSQL 17\n[1] postmaster: FATAL:  lock file "postmaster.pid" already exists\n');
    output.write('[1] postmaster: HINT:  Is another postmaster (PID 9) running in data directory "/srv/pg"?\n');
    expect(lines.map((line) => line.level)).to.deep.equal([20, 50, 50]);
    expect(output.recentErrors()).to.deep.equal(['FATAL:  lock file "postmaster.pid" already exists', 'HINT:  Is another postmaster (PID 9) running in data directory "/srv/pg"?']);
  });
});

describe('postmaster.pid', () => {
  it('reads pid, data directory, port and status (PostgreSQL 10+ layout)', () => {
    const text = '4242\n/srv/pg\n1796668000\n5433\n\n127.0.0.1\n  1234567     98304\nready   \n';
    expect(parsePostmasterPid(text)).to.deep.equal({ pid: 4242, dataDir: '/srv/pg', port: 5433, status: 'ready' });
  });

  it('a file cut short still gives the pid; one without a pid gives nothing', () => {
    expect(parsePostmasterPid('4242\n/srv/pg\n')).to.deep.equal({ pid: 4242, dataDir: '/srv/pg', port: null, status: null });
    expect(parsePostmasterPid('')).to.equal(null);
    expect(parsePostmasterPid('-1\n')).to.equal(null);
    expect(parsePostmasterPid('abc\n')).to.equal(null);
  });
});
