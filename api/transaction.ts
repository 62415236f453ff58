import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { isTransactionCollision } from '../app/database-errors';
import { conflict } from './errors';

/** Attempts of one transaction, the first included, before the collision is given to the client. */
export const TRANSACTION_ATTEMPTS = 4;

/** Back-off before attempt n+1: a random delay up to min(MAX, BASE * 2^(n-1)) ("full jitter"). */
export const TRANSACTION_BACKOFF = { baseMs: 20, maxMs: 250 } as const;

export interface TransactionRetry {
  readonly attempts: number;
  /** In [0, 1); injected by tests. */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<unknown>;
}

const DEFAULT_RETRY: TransactionRetry = { attempts: TRANSACTION_ATTEMPTS, random: Math.random, sleep };

/**
 * Runs `work` in one transaction, and runs the whole transaction again (never a part of it) when
 * PostgreSQL aborts it for a deadlock or a serialization failure, a bounded number of times with
 * jittered back-off so the colliding writers do not meet again. Any other error is thrown at
 * once. `work` must have no effect outside the transaction, since it may run more than once.
 * When every attempt collides, the client gets CONFLICT (try again), not an internal error.
 */
export async function inTransaction<T>(
  dataSource: Pick<DataSource, 'transaction'>,
  work: (manager: EntityManager) => Promise<T>,
  retry: TransactionRetry = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (error) {
      if (!isTransactionCollision(error)) throw error;
      if (attempt >= retry.attempts) throw conflict('the change collided with concurrent changes; try again');
      await retry.sleep(retry.random() * Math.min(TRANSACTION_BACKOFF.maxMs, TRANSACTION_BACKOFF.baseMs * 2 ** (attempt - 1)));
    }
  }
}
