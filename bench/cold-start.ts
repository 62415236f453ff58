import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../app/embedded-database';

/**
 * Seconds from the start command to the GraphQL API answering, on the embedded database:
 * cold (empty data directory: initdb, migrations, key generation) and warm (existing cluster).
 * Measures `node dist/app/main.js`, and `npm start` once (which compiles first).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RUNS = 3;

async function timeStart(command: string, args: string[], dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, API_PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.OPERATOR_API_KEY;
  const began = process.hrtime.bigint();
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, env, stdio: 'ignore', detached: true });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        if (response.status === 401) break;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return Number(process.hrtime.bigint() - began) / 1e9;
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      process.kill(-(child.pid as number), 'SIGTERM');
    });
  }
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s (runs: ${values.map((v) => v.toFixed(2)).join(', ')})`;
}

async function main(): Promise<void> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-bench-'));
    await chmod(dataDir, 0o755);
    try {
      cold.push(await timeStart(process.execPath, ['dist/app/main.js', '--role', 'api'], dataDir));
      warm.push(await timeStart(process.execPath, ['dist/app/main.js', '--role', 'api'], dataDir));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-bench-'));
  await chmod(dataDir, 0o755);
  let npmStart: number;
  try {
    npmStart = await timeStart('npm', ['start', '--silent', '--', '--role', 'api'], dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  const lines = [
    `cold start, empty data dir (node dist/app/main.js): ${summary(cold)}`,
    `warm start, existing cluster (node dist/app/main.js): ${summary(warm)}`,
    `cold start via npm start (tsc build included): ${npmStart.toFixed(2)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
