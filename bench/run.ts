import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * `npm run bench`: every benchmark, one after the other (they must not share the CPU), each in
 * its own process: start-up time (cold-start.ts), SIP load (sip-load.ts, about 15 minutes), an
 * untrusted flood beside carrier calls (untrusted-flood.ts, about 3 minutes), SIP setup while the
 * API is hammered (api-vs-sip.ts, about 1.5 minutes), the dial plan engine per step and a ring
 * group's time to CANCEL (dial-plan.ts, about a minute), trunk health: failover to a dead PBX,
 * the webhook, event delivery (trunk-health.ts, about 2.5 minutes); each writes its
 * bench/results/*.md. Stops at the first that fails. Arguments are passed to each (`node
 * dist/bench/run.js --quick`: a short SIP run; the others ignore what they do not know).
 */
const BENCHES = ['cold-start.js', 'sip-load.js', 'untrusted-flood.js', 'api-vs-sip.js', 'dial-plan.js', 'trunk-health.js'];

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
