import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { LOG_WRITE_MAX_BYTES } from '../../../app/logger';

const LOGGER = path.resolve(__dirname, '..', '..', '..', 'app', 'logger.js');

/**
 * Runs a script in a fresh node process whose standard output is a pipe, as under a process
 * manager, and returns what it wrote. The script has `createLogger` and `Worker` in scope.
 */
function run(script: string): Promise<string> {
  const program = `const { createLogger } = require(${JSON.stringify(LOGGER)}); const { Worker } = require('node:worker_threads');\n${script}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`exit ${code}: ${output.slice(-500)}`))));
  });
}

/** Script text that starts a worker thread running `code` with `createLogger` in scope. */
const worker = (code: string) => `new Worker(${JSON.stringify(`const { createLogger } = require(${JSON.stringify(LOGGER)}); ${code}`)}, { eval: true })`;

const linesOf = (output: string) => output.split('\n').filter((line) => line !== '');

describe('log destination (app/logger): batched asynchronous writes to standard output', () => {
  it('a worker thread that exits right after logging loses no line', async () => {
    const output = await run(`
      const worker = ${worker(`const log = createLogger('info'); for (let i = 0; i < 3; i++) log.info({ i }, 'from the worker');`)};
      worker.on('exit', () => createLogger('info').info('main done'));`);
    const lines = linesOf(output).map((line) => JSON.parse(line) as { msg: string; i?: number });
    expect(lines.filter((line) => line.msg === 'from the worker').map((line) => line.i)).to.deep.equal([0, 1, 2]);
    expect(lines.at(-1)?.msg).to.equal('main done');
  });

  it('lines of two threads sharing the pipe never interleave, and a line as long as one write arrives whole', async () => {
    // Each line about 300 bytes, 2,000 per thread: many batches each, written at the same time.
    const body = `const log = createLogger('info'); const pad = 'x'.repeat(220); for (let i = 0; i < 2000; i++) log.info({ i, pad }, 'line');`;
    const long = `createLogger('info').info({ pad: 'y'.repeat(${LOG_WRITE_MAX_BYTES} - 120) }, 'long');`;
    const output = await run(`
      const worker = ${worker(body)};
      ${body} ${long}
      worker.on('exit', () => undefined);`);
    const lines = linesOf(output);
    expect(lines).to.have.length(4001);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line.slice(0, 80)).not.to.throw();
    expect(lines.some((line) => line.includes('"msg":"long"'))).to.equal(true);
  });
});
