import 'reflect-metadata';
import type { Logger } from 'pino';
import { ApiKeyService } from '../api/auth/api-key.service';
import { startApiRole } from './api-role';
import { startApiThread, type ApiRole } from './api-thread';
import { ConfigError, parseConfig, type Config } from './config';
import { openDatabase, type Database } from './database';
import { createLogger } from './logger';
import { startSipRole, type SipRole } from './sip-role';

interface Running {
  api: ApiRole | null;
  sip: SipRole | null;
}

/**
 * The API role: on this thread under `--role api`; under `--role all` in a worker thread of its
 * own (app/api-thread.ts), so that the SIP edge, which keeps this thread, never waits for it.
 */
async function startApi(config: Config, database: Database, logger: Logger, started: bigint, onExit: (reason: string) => void): Promise<ApiRole> {
  const generated = await new ApiKeyService(database.dataSource, logger, config.operatorApiKey).bootstrapOperatorKey();
  if (generated !== null) {
    // Printed once, to the terminal of the first start; only its hash is stored.
    process.stdout.write(`\nOperator API key (shown once, keep it safe):\n\n  ${generated}\n\n`);
  }
  const api =
    config.role === 'all'
      ? await startApiThread(config, database.url, logger, onExit)
      : await startApiRole(config, database.dataSource, logger);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  logger.info(
    { url: api.url, startupSeconds: Number(seconds.toFixed(2)), embeddedDatabase: database.embedded !== null, thread: config.role === 'all' ? 'own' : 'main' },
    'GraphQL API listening',
  );
  return api;
}

async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const started = process.hrtime.bigint();
  const database = await openDatabase(config, logger);
  const running: Running = { api: null, sip: null };
  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping');
    await running.sip?.stop();
    await running.api?.stop();
    await database.close();
    logger.info('stopped');
  };
  const exit = (reason: string, code: number): void => {
    stop(reason).then(
      () => process.exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exit(signal, 0));
  // The API thread ending on its own leaves a half-running process: stop the rest, fail loudly.
  const apiEnded = (reason: string): void => {
    logger.fatal({ reason }, 'the API role stopped unexpectedly; stopping the process');
    exit('API role stopped', 1);
  };

  try {
    if (config.role === 'api' || config.role === 'all') running.api = await startApi(config, database, logger, started, apiEnded);
    if (config.role === 'sip' || config.role === 'all') running.sip = await startSipRole(config, database.url, logger);
  } catch (error) {
    // Whatever did start is stopped again, the embedded database included.
    await stop('startup failure').catch(() => undefined);
    throw error;
  }
}

let config: Config;
try {
  config = parseConfig(process.env, process.argv.slice(2), process.cwd());
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(2);
}
main(config).catch((error: unknown) => {
  process.stderr.write(`could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
