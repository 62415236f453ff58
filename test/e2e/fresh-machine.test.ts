import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

/**
 * `npm test` on a machine with only Node (the README's commands): the one suite that needs a
 * tool besides Node, sipp, is pending there with the reason in its title, and fails the run
 * only where REQUIRE_SIPP=1 asks for it (CI, `.ci/run`). Mocha runs the sipp file alone with a
 * PATH that holds nothing but `node`, without the database fixtures (nothing in it gets that far).
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const SIPP_TESTS = path.join(ROOT, 'dist', 'test', 'integration', 'sipp.test.js');

interface MochaReport {
  stats: { passes: number; pending: number; failures: number };
  pending: { title: string }[];
  failures: { err: { message: string } }[];
}

async function runWithoutSipp(bin: string, extraEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; report: MochaReport }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, ...extraEnv };
  if (!('REQUIRE_SIPP' in extraEnv)) delete env.REQUIRE_SIPP;
  const child = spawn(process.execPath, [MOCHA, '--no-config', '--reporter', 'json', SIPP_TESTS], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, report: JSON.parse(stdout.slice(stdout.indexOf('{'))) as MochaReport };
}

describe('npm test on a machine with only Node (no sipp on PATH)', function () {
  this.timeout(30_000);
  let bin: string;
  before(async () => {
    bin = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-path-'));
    await symlink(process.execPath, path.join(bin, 'node'));
  });
  after(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('passes, with the sipp scenarios pending and the reason in a pending title', async () => {
    const { code, report } = await runWithoutSipp(bin, {});
    expect(code).to.equal(0);
    expect(report.stats).to.include({ passes: 0, failures: 0 });
    expect(report.stats.pending).to.be.above(1);
    expect(report.pending.map((test) => test.title)).to.include('sipp scenarios: sipp is not installed (apt-get install sip-tester); set REQUIRE_SIPP=1 to make this a failure');
  });

  it('fails with REQUIRE_SIPP=1 (as CI sets it), saying what is missing', async () => {
    const { code, report } = await runWithoutSipp(bin, { REQUIRE_SIPP: '1' });
    expect(code).to.not.equal(0);
    expect(report.stats.failures).to.equal(1);
    expect(report.failures[0].err.message).to.equal('sipp is not installed (apt-get install sip-tester), and REQUIRE_SIPP=1 requires it');
  });
});
