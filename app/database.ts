import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { createDataSource } from '../ormconfig';
import type { Config } from './config';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-database';

export interface Database {
  readonly url: string;
  readonly dataSource: DataSource;
  /** The embedded server, when one was started for this process. */
  readonly embedded: EmbeddedDatabase | null;
  close(): Promise<void>;
}

/** Connects to `DATABASE_URL` (or starts the embedded PostgreSQL) and runs pending migrations. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const embedded =
    config.databaseUrl === undefined ? await startEmbeddedDatabase({ dir: `${config.dataDir}/postgres`, logger }) : null;
  const url = config.databaseUrl ?? (embedded as EmbeddedDatabase).url;
  const dataSource = createDataSource({ url, applicationName: `trunk-failover-${config.role}` });
  try {
    await dataSource.initialize();
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    if (applied.length > 0) logger.info({ migrations: applied.map((migration) => migration.name) }, 'migrations applied');
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    url,
    dataSource,
    embedded,
    close: async () => {
      await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
