import { expect } from 'chai';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { ApiError, ErrorCode } from '../../../api/errors';
import { isTransactionCollision } from '../../../app/database-errors';
import { inTransaction, TRANSACTION_ATTEMPTS, TRANSACTION_BACKOFF, type TransactionRetry } from '../../../api/transaction';

function pgFailure(code: string): QueryFailedError {
  return new QueryFailedError('UPDATE trunk SET name = $1', ['x'], Object.assign(new Error(`sqlstate ${code}`), { code }));
}

/** A DataSource whose transactions fail with the given errors, in order, then succeed. */
function failing(errors: readonly unknown[]): { dataSource: Pick<DataSource, 'transaction'>; runs: () => number } {
  let runs = 0;
  const dataSource = {
    transaction: async (work: (manager: EntityManager) => Promise<unknown>) => {
      const error = errors[runs];
      runs += 1;
      if (error !== undefined) throw error;
      return work({} as EntityManager);
    },
  } as unknown as Pick<DataSource, 'transaction'>;
  return { dataSource, runs: () => runs };
}

function recording(random = 0.5): { retry: TransactionRetry; sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleeps, retry: { attempts: TRANSACTION_ATTEMPTS, random: () => random, sleep: async (ms) => void sleeps.push(ms) } };
}

describe('inTransaction: retry on deadlock and serialization failure only', () => {
  const cases: { name: string; error: unknown; retried: boolean }[] = [
    { name: '40P01 deadlock_detected', error: pgFailure('40P01'), retried: true },
    { name: '40001 serialization_failure', error: pgFailure('40001'), retried: true },
    { name: '23505 unique_violation', error: pgFailure('23505'), retried: false },
    { name: '40002 (another class-40 code)', error: pgFailure('40002'), retried: false },
    { name: '57P01 admin_shutdown', error: pgFailure('57P01'), retried: false },
    { name: 'a plain Error', error: new Error('boom'), retried: false },
    { name: 'an ApiError', error: new ApiError(ErrorCode.NOT_FOUND, 'x'), retried: false },
    { name: 'a pg error with code 40P01 that TypeORM did not wrap', error: Object.assign(new Error('x'), { code: '40P01' }), retried: true },
  ];
  for (const { name, error, retried } of cases) {
    it(`${name}: ${retried ? 'the whole transaction runs again' : 'thrown at once'}`, async () => {
      const { dataSource, runs } = failing([error]);
      const { retry, sleeps } = recording();
      if (retried) {
        expect(await inTransaction(dataSource, async () => 'done', retry)).to.equal('done');
        expect([runs(), sleeps.length]).to.deep.equal([2, 1]);
      } else {
        let thrown: unknown;
        await inTransaction(dataSource, async () => 'done', retry).catch((caught: unknown) => (thrown = caught));
        expect(thrown).to.equal(error);
        expect([runs(), sleeps.length]).to.deep.equal([1, 0]);
      }
      expect(isTransactionCollision(error)).to.equal(retried);
    });
  }

  it(`gives up after ${TRANSACTION_ATTEMPTS} attempts with CONFLICT, never looping`, async () => {
    const { dataSource, runs } = failing(Array.from({ length: 10 }, () => pgFailure('40P01')));
    const { retry, sleeps } = recording();
    let thrown: unknown;
    await inTransaction(dataSource, async () => 'done', retry).catch((caught: unknown) => (thrown = caught));
    expect(thrown).to.be.instanceOf(ApiError);
    expect((thrown as ApiError).extensions.code).to.equal('CONFLICT');
    expect([runs(), sleeps.length]).to.deep.equal([TRANSACTION_ATTEMPTS, TRANSACTION_ATTEMPTS - 1]);
  });

  it('backs off with full jitter under a doubling cap', async () => {
    const { dataSource } = failing([pgFailure('40001'), pgFailure('40001'), pgFailure('40001')]);
    const top = recording(0.999);
    await inTransaction(dataSource, async () => 'done', top.retry);
    const caps = [0, 1, 2].map((n) => Math.min(TRANSACTION_BACKOFF.maxMs, TRANSACTION_BACKOFF.baseMs * 2 ** n));
    top.sleeps.forEach((ms, index) => expect(ms).to.be.within(caps[index] * 0.99, caps[index]));
    const { dataSource: again } = failing([pgFailure('40001')]);
    const bottom = recording(0);
    await inTransaction(again, async () => 'done', bottom.retry);
    expect(bottom.sleeps).to.deep.equal([0]);
  });
});
