import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from './config';
import { THREAD_RESOURCE_LIMITS } from '../worker/edge/worker-heap';

/**
 * Under `--role all` the API runs in a worker thread of its own and the SIP edge keeps the main
 * thread: one GraphQL request that takes the CPU for seconds (validation, a large answer, a
 * garbage collection of its heap) then delays no datagram. Production runs each role alone.
 */
export interface ApiThreadData {
  readonly config: Config;
  readonly databaseUrl: string;
}

/** From the API thread to the host. */
export type ApiThreadMessage = { kind: 'listening'; url: string } | { kind: 'failed'; message: string } | { kind: 'stopped' };

/** From the host to the API thread. */
export type HostMessage = { kind: 'stop' };

/** The API role seen from the host thread. */
export interface ApiRole {
  readonly url: string;
  stop(): Promise<void>;
}

/** A thread that does not stop in this time is terminated. */
const STOP_TIMEOUT_MS = 15_000;

export class ApiRoleFailed extends Error {
  override readonly name = 'ApiRoleFailed';
}

/**
 * Starts the API thread and resolves once it listens; rejects with the thread's own reason when
 * it does not start. `onExit` is told when the thread ends without having been asked to stop.
 */
export function startApiThread(config: Config, databaseUrl: string, logger: Logger, onExit: (reason: string) => void): Promise<ApiRole> {
  const worker = new Worker(path.resolve(__dirname, 'api-thread-main.js'), { workerData: { config, databaseUrl } satisfies ApiThreadData, resourceLimits: THREAD_RESOURCE_LIMITS });
  let stopping = false;
  let failure: string | null = null;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  worker.on('error', (error) => {
    failure = error.message;
    logger.error({ err: error }, 'API thread failed');
  });

  const stop = async (): Promise<void> => {
    if (!stopping) {
      stopping = true;
      worker.postMessage({ kind: 'stop' } satisfies HostMessage);
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'API thread did not stop in time; terminating it');
        void worker.terminate();
      }, STOP_TIMEOUT_MS);
      void exited.then(() => {
        clearTimeout(timer);
        logger.info('API thread stopped');
      });
    }
    await exited;
  };

  return new Promise<ApiRole>((resolve, reject) => {
    let started = false;
    worker.on('message', (message: ApiThreadMessage) => {
      if (message.kind === 'listening' && !started) {
        started = true;
        resolve({ url: message.url, stop });
      } else if (message.kind === 'failed') {
        failure = message.message;
      }
    });
    void exited.then((code) => {
      const reason = `API thread ended (exit code ${code})${failure === null ? '' : `: ${failure}`}`;
      if (!started) reject(new ApiRoleFailed(reason));
      else if (!stopping) onExit(reason);
    });
  });
}
