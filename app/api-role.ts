import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { buildApiSchema } from '../api/schema';
import { startApiServer, type ApiServer } from '../api/server';
import type { Config } from './config';

/** The GraphQL API role on `dataSource`, configured from `config`; runs on whichever thread calls it. */
export async function startApiRole(config: Config, dataSource: DataSource, logger: Logger): Promise<ApiServer> {
  return startApiServer({
    dataSource,
    schema: await buildApiSchema(),
    logger,
    host: config.apiHost,
    port: config.apiPort,
    sipRealm: config.sipRealm,
    operatorApiKey: config.operatorApiKey,
    webhookDelivery: {},
  });
}
