import 'reflect-metadata';
import { buildApiSchema } from '../api/schema';
import { startApiServer, type ApiServer } from '../api/server';
import { ApiKeyService } from '../api/auth/api-key.service';
import { ConfigError, parseConfig, type Config } from './config';
import { openDatabase } from './database';
import { createLogger } from './logger';

async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const started = process.hrtime.bigint();
  const database = await openDatabase(config, logger);
  let api: ApiServer | null = null;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await api?.stop();
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

  if (config.role === 'api' || config.role === 'all') {
    const generated = await new ApiKeyService(database.dataSource, logger, config.operatorApiKey).bootstrapOperatorKey();
    if (generated !== null) {
      // Printed once, to the terminal of the first start; only its hash is stored.
      process.stdout.write(`\nOperator API key (shown once, keep it safe):\n\n  ${generated}\n\n`);
    }
    api = await startApiServer({
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
  }
  if (config.role === 'sip' || config.role === 'all') {
    logger.info({ role: config.role }, 'SIP role: not built yet, nothing to start');
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
