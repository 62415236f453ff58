import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { createDataSource } from '../ormconfig';
import { startApiRole } from './api-role';
import type { ApiThreadData, ApiThreadMessage, HostMessage } from './api-thread';
import { createLogger } from './logger';

/**
 * The API role's worker thread under `--role all`: its own event loop, heap, database pool and
 * logger (pino writes to fd 1 from this thread), so no GraphQL work runs on the SIP edge's loop.
 * The host has already run the migrations and printed the first-start operator key.
 */
async function main(data: ApiThreadData): Promise<void> {
  const host = parentPort;
  if (host === null) throw new Error('api-thread-main runs in a worker thread');
  const post = (message: ApiThreadMessage) => host.postMessage(message);
  const logger = createLogger(data.config.logLevel).child({ role: 'api' });
  const dataSource = createDataSource({ url: data.databaseUrl, applicationName: 'trunk-failover-api' });
  try {
    await dataSource.initialize();
    const server = await startApiRole(data.config, dataSource, logger);
    host.on('message', (message: HostMessage) => {
      if (message.kind !== 'stop') return;
      void (async () => {
        try {
          await server.stop();
          await dataSource.destroy();
        } catch (error) {
          // The thread exits regardless: the host waits for `stopped`, not for a clean stop.
          logger.error({ err: error }, 'API thread stop failed');
        } finally {
          logger.flush(() => {
            post({ kind: 'stopped' });
            process.exit(0);
          });
        }
      })();
    });
    post({ kind: 'listening', url: server.url });
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    throw error;
  }
}

main(workerData as ApiThreadData).catch((error: unknown) => {
  parentPort?.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies ApiThreadMessage);
  process.exit(1);
});
