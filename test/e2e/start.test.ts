import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

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

  it('refuses a bad setting with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN, '--role', 'proxy'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(stderr).to.include('--role must be one of api, sip, all');
  });
});
