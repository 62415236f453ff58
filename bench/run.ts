import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * `npm run bench`: every benchmark, one after the other (they must not share the CPU), each in
 * its own process: start-up time (cold-start.ts), then SIP load (sip-load.ts, about 15 minutes,
 * writes bench/results/sip-load.md). Stops at the first that fails. Arguments are passed to each
 * (`node dist/bench/run.js --quick`: a short SIP run; cold-start takes none and ignores them).
 */
const BENCHES = ['cold-start.js', 'sip-load.js'];

function run(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, script), ...process.argv.slice(2)], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

async function main(): Promise<void> {
  for (const script of BENCHES) {
    process.stdout.write(`\n== bench/${script.replace(/\.js$/, '.ts')}\n`);
    const code = await run(script);
    if (code !== 0) {
      process.stderr.write(`bench/${script} failed with exit code ${code}\n`);
      process.exit(code);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
