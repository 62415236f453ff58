import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { DATABASE_CONNECT_TIMEOUT_MS } from './app/connect-timeout';
import { InitialSchema1764150000000 } from './migrations/1764150000000-InitialSchema';
import { WebhookAllowedNetworks1765100000000 } from './migrations/1765100000000-WebhookAllowedNetworks';
import { CallRecordSteps1765200000000 } from './migrations/1765200000000-CallRecordSteps';
import { ForwardCallerId1765200000001 } from './migrations/1765200000001-ForwardCallerId';
import { CallRecordDialled1765300000000 } from './migrations/1765300000000-CallRecordDialled';
import { TrunkHealth1765400000000 } from './migrations/1765400000000-TrunkHealth';
import { CallLimits1765400000001 } from './migrations/1765400000001-CallLimits';
import { WebhookEndpoints1765400000002 } from './migrations/1765400000002-WebhookEndpoints';
import { ApiKeyRevokedNotify1765400000003 } from './migrations/1765400000003-ApiKeyRevokedNotify';
import { ProbeLease1765400000004 } from './migrations/1765400000004-ProbeLease';
import { ENTITIES } from './schema/entities';

export const MIGRATIONS = [
  InitialSchema1764150000000,
  WebhookAllowedNetworks1765100000000,
  CallRecordSteps1765200000000,
  ForwardCallerId1765200000001,
  CallRecordDialled1765300000000,
  TrunkHealth1765400000000,
  CallLimits1765400000001,
  WebhookEndpoints1765400000002,
  ApiKeyRevokedNotify1765400000003,
  ProbeLease1765400000004,
];

export interface DataSourceOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
}

/** The one DataSource factory both roles use. Schema changes go through migrations only. */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'all',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    logging: false,
    connectTimeoutMS: DATABASE_CONNECT_TIMEOUT_MS,
    applicationName: options.applicationName ?? 'trunk-failover',
    extra: { max: options.poolSize ?? 10 },
  });
}

/** For the TypeORM CLI (`npx typeorm -d dist/ormconfig.js migration:show`). */
export default createDataSource({ url: process.env.DATABASE_URL ?? 'postgres://localhost/test' });
