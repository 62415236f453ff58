import 'reflect-metadata';
import { parseConfig } from '../app/config';
import { createLogger } from '../app/logger';
import { startSipRole } from '../app/sip-role';

/**
 * For bench/untrusted-flood.ts: the SIP role alone in a process of its own (as `--role sip`,
 * configured from the same environment), which answers `stats` over the IPC channel with the
 * edge's counters and this process's memory, so the bench can read pins and RSS without
 * waiting for the node's once-a-minute counters line. Run with `fork`.
 */
async function main(): Promise<void> {
  const config = parseConfig(process.env, ['--role', 'sip'], process.cwd());
  if (config.databaseUrl === undefined) throw new Error('sip-node needs DATABASE_URL');
  const logger = createLogger(config.logLevel);
  const sip = await startSipRole(config, config.databaseUrl, logger);
  process.on('message', (message: unknown) => {
    if (message === 'stats') process.send?.({ edge: sip.edge.stats(), workers: sip.supervisor.health(), memory: process.memoryUsage() });
  });
  process.once('SIGTERM', () => {
    void sip.stop().then(() => process.exit(0));
  });
  process.send?.({ ready: true, port: sip.edge.address().port });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
