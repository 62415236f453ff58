import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from 'pg';
import { parsePostmasterPid, type PostmasterPidFile } from '../../app/leftover-postgres';
import { waitUntil } from '../support/sip-peer';

const MAIN = path.resolve(__dirname, '..', '..', 'app', 'main.js');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  seconds: number;
}

/** Starts `node dist/app/main.js` as `npm start` does, on the embedded database in `dataDir`. */
async function start(dataDir: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, API_PORT: '0', LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.OPERATOR_API_KEY;
  const began = Date.now();
  const child = spawn(process.execPath, [MAIN, '--role', 'api'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no API within 60 s:\n${output}`)), 60_000);
    const look = () => {
      const match = /"url":"(http:[^"]+)"/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', look);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  return { child, url, output: () => output, seconds: (Date.now() - began) / 1000 };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function running(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
}

/** The live processes whose command line names the cluster: the server and its children. */
function serverProcesses(databaseDir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(databaseDir) && running(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

interface LogLine {
  level: number;
  msg: string;
  postgresPid?: number;
  signal?: string;
  status?: string;
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function graphql(url: string, key: string, query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('npm start with the embedded database', function () {
  this.timeout(120_000);
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-start-'));
    await chmod(dataDir, 0o755);
  });
  after(async () => {
    // A test that failed between a kill -9 and the next start leaves its server: never past this file.
    for (const pid of serverProcesses(path.join(dataDir, 'postgres'))) process.kill(pid, 'SIGINT');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts cold, prints an operator key once, keeps data across restarts and stops cleanly', async () => {
    const first = await start(dataDir);
    const key = /Operator API key[^\n]*\n\n\s+(tfk_[A-Za-z0-9_-]+)/.exec(first.output())?.[1];
    expect(key, first.output()).to.be.a('string');
    const created = await graphql(first.url, key as string, `mutation { createCompany(input: { name: "Persisted", timeZone: "UTC" }) { id } }`);
    expect(created.status).to.equal(200);
    expect(await stop(first.child)).to.equal(0);
    expect(first.output()).to.include('"msg":"stopped"');

    const second = await start(dataDir);
    expect(second.output()).not.to.include('Operator API key');
    const listed = await graphql(second.url, key as string, `{ companies { edges { node { name } } } }`);
    expect(JSON.stringify(listed.body)).to.include('Persisted');
    expect(await stop(second.child)).to.equal(0);
  });

  function pidFile(): PostmasterPidFile {
    return parsePostmasterPid(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')) as PostmasterPidFile;
  }

  it('after kill -9, the next start stops the server the killed run left behind and says so; a clean stop leaves no server', async () => {
    const first = await start(dataDir);
    const leftover = pidFile().pid;
    await killed(first.child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running(leftover), 'the server outlives the killed product (own process group)').to.equal(true);

    const second = await start(dataDir);
    expect(running(leftover)).to.equal(false);
    const said = logLines(second.output()).find((line) => line.msg.includes('stopped the leftover server'));
    expect(said, second.output()).to.include({ level: 40, postgresPid: leftover, signal: 'SIGINT', status: 'ready' });
    expect(pidFile().pid).not.to.equal(leftover);
    expect(await stop(second.child)).to.equal(0);
    await waitUntil(() => serverProcesses(path.join(dataDir, 'postgres')).length === 0, 5000, 'no server process of the cluster');
  });

  it('after kill -9, a leftover server already shutting down is waited for', async () => {
    const first = await start(dataDir);
    const leftover = pidFile();
    await killed(first.child);
    // A smart shutdown (SIGTERM) waits for its sessions to end: this one keeps the server dying but alive.
    const session = new Client({ host: '127.0.0.1', port: leftover.port ?? 0, user: 'postgres', password: 'embedded', database: 'trunks' });
    session.on('error', () => undefined);
    await session.connect();
    process.kill(leftover.pid, 'SIGTERM');
    await waitUntil(() => pidFile().status === 'stopping', 5000, 'the leftover server to be stopping');
    expect(running(leftover.pid)).to.equal(true);

    const second = await start(dataDir);
    await session.end().catch(() => undefined);
    expect(running(leftover.pid)).to.equal(false);
    const said = logLines(second.output()).find((line) => line.msg.includes('stopped the leftover server'));
    expect(said, second.output()).to.include({ level: 40, postgresPid: leftover.pid, status: 'stopping' });
    expect(await stop(second.child)).to.equal(0);
    await waitUntil(() => serverProcesses(path.join(dataDir, 'postgres')).length === 0, 5000, 'no server process of the cluster');
  });

  it('refuses a bad setting with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN, '--role', 'proxy'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(stderr).to.include('--role must be one of api, sip, all');
  });
});
