import 'reflect-metadata';
import type { Logger } from 'pino';
import { buildApiSchema } from '../api/schema';
import { startApiServer, type ApiServer } from '../api/server';
import { ApiKeyService } from '../api/auth/api-key.service';
import { ConfigError, parseConfig, type Config } from './config';
import { openDatabase, type Database } from './database';
import { createLogger } from './logger';
import { startSipRole, type SipRole } from './sip-role';

interface Running {
  api: ApiServer | null;
  sip: SipRole | null;
}

async function startApi(config: Config, database: Database, logger: Logger, started: bigint): Promise<ApiServer> {
  const generated = await new ApiKeyService(database.dataSource, logger, config.operatorApiKey).bootstrapOperatorKey();
  if (generated !== null) {
    // Printed once, to the terminal of the first start; only its hash is stored.
    process.stdout.write(`\nOperator API key (shown once, keep it safe):\n\n  ${generated}\n\n`);
  }
  const api = await startApiServer({
    dataSource: database.dataSource,
    schema: await buildApiSchema(),
    logger,
    host: config.apiHost,
    port: config.apiPort,
    sipRealm: config.sipRealm,
    operatorApiKey: config.operatorApiKey,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  logger.info({ url: api.url, startupSeconds: Number(seconds.toFixed(2)), embeddedDatabase: database.embedded !== null }, 'GraphQL API listening');
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
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'unclean stop');
          process.exit(1);
        },
      );
    });
  }

  try {
    if (config.role === 'api' || config.role === 'all') running.api = await startApi(config, database, logger, started);
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
