import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import path from 'node:path';
import { expect } from 'chai';
import { OPERATOR_KEY } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { BLOCK_PATH, CRASH_PATH } from '../support/event-loop-blocker';
import { waitUntil } from '../support/sip-peer';

const MAIN = path.resolve(__dirname, '..', '..', 'app', 'main.js');
const BLOCKER = path.resolve(__dirname, '..', 'support', 'event-loop-blocker.js');
/** How long the API's event loop is held; an OPTIONS answer must not wait for it. */
const BLOCK_MS = 3000;

/** Sends one OPTIONS to the edge and resolves with the status line of the answer and the time it took. */
async function options(port: number): Promise<{ status: string; ms: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const callId = randomBytes(8).toString('hex');
  const local = socket.address().port;
  const message = [
    `OPTIONS sip:ping@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${callId}`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=${callId}`,
    `To: <sip:ping@127.0.0.1:${port}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const began = process.hrtime.bigint();
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to OPTIONS in 10 s')), 10_000);
      socket.on('message', (data) => {
        const text = data.toString('utf8');
        if (!text.includes(callId)) return;
        clearTimeout(timer);
        resolve({ status: text.split('\r\n')[0], ms: Number(process.hrtime.bigint() - began) / 1e6 });
      });
      socket.send(message, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

describe('--role all: the API and the SIP edge on event loops of their own', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let child: ChildProcess;
  let output = '';
  let apiBase: string;
  let sipPort: number;

  before(async () => {
    database = await createTestDatabase();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: database.url,
      API_PORT: '0',
      SIP_PORT: '0',
      SIP_WORKERS: '1',
      OPERATOR_API_KEY: OPERATOR_KEY,
      LOG_LEVEL: 'info',
    };
    child = spawn(process.execPath, ['--require', BLOCKER, MAIN, '--role', 'all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitUntil(() => child.exitCode !== null || output.includes('"msg":"SIP edge listening"'), 30_000, 'both roles to start');
    expect(child.exitCode, output).to.equal(null);
    apiBase = (/"url":"(http:[^"]+)\/graphql"/.exec(output) as RegExpExecArray)[1];
    sipPort = Number((/"address":"127\.0\.0\.1:(\d+)"/.exec(output) as RegExpExecArray)[1]);
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await database.drop();
  });

  it('answers SIP OPTIONS at once while the API thread is blocked', async function () {
    expect((await options(sipPort)).status).to.equal('SIP/2.0 200 OK');
    let apiAnswered = false;
    const blocked = fetch(`${apiBase}${BLOCK_PATH}?ms=${BLOCK_MS}`).then(() => (apiAnswered = true));
    await waitUntil(() => output.includes('event loop blocked'), 5000, 'the API to block');
    const answer = await options(sipPort);
    this.test!.title += ` (answered in ${answer.ms.toFixed(1)} ms)`;
    expect(answer.status).to.equal('SIP/2.0 200 OK');
    // The answer came while the API was still held, not after: ordering, not a tight timing.
    expect(apiAnswered).to.equal(false);
    expect(output).to.include('event loop blocked on a worker thread');
    await blocked;
  });

  it('stops the whole process, with a clear message, when the API thread dies', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await fetch(`${apiBase}${CRASH_PATH}`).catch(() => undefined);
    expect(await exited).to.equal(1);
    expect(output).to.include('the API role stopped unexpectedly');
    expect(output).to.include('deliberate crash of the thread serving HTTP');
    expect(output).to.include('"msg":"stopped"');
  });
});
