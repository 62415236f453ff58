import { expect } from 'chai';
import { QueryFailedError } from 'typeorm';
import { isContentError, isDatabaseStrained, isDatabaseUnreachable, isTransactionCollision, isWorthRetrying } from '../../app/database-errors';

const pg = (fields: Record<string, unknown>, message = 'server said no'): Error => Object.assign(new Error(message), fields);
const failedQuery = (driverError: Error): QueryFailedError => new QueryFailedError('SELECT 1', [], driverError);

describe('isDatabaseUnreachable: an outage, not a refused statement', () => {
  const unreachable: [string, unknown][] = [
    ['connection refused', pg({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect' }, 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', pg({ code: 'ECONNRESET' })],
    ['host unreachable', pg({ code: 'EHOSTUNREACH' })],
    ['name not resolved', pg({ code: 'ENOTFOUND' })],
    ['a dual-stack connect failing on every address', Object.assign(new AggregateError([pg({ code: 'ECONNREFUSED' }), pg({ code: 'ECONNREFUSED' })]), {})],
    ['a lost connection during a query', failedQuery(new Error('Connection terminated unexpectedly'))],
    ['a connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['a client that lost its connection', failedQuery(new Error('Client has encountered a connection error and is not queryable'))],
    ['a pool that was ended', new Error('Cannot use a pool after calling end on the pool')],
    ['admin shutdown (pg_terminate_backend)', failedQuery(pg({ code: '57P01', severity: 'FATAL' }, 'terminating connection due to administrator command'))],
    ['crash shutdown', failedQuery(pg({ code: '57P02', severity: 'WARNING' }))],
    ['the server starting up', pg({ code: '57P03', severity: 'FATAL' }, 'the database system is starting up')],
    ['too many connections', pg({ code: '53300', severity: 'FATAL' }, 'sorry, too many clients already')],
    ['a database not accepting connections', pg({ code: '55000', severity: 'FATAL' }, 'database "x" is not currently accepting connections')],
    ['class 08: connection failure', pg({ code: '08006', severity: 'ERROR' })],
    ['an outage wrapped as a cause', new Error('lookup failed', { cause: pg({ code: 'ECONNREFUSED' }) })],
  ];
  const reachable: [string, unknown][] = [
    ['a unique violation', failedQuery(pg({ code: '23505', severity: 'ERROR' }))],
    ['a deadlock', failedQuery(pg({ code: '40P01', severity: 'ERROR' }))],
    ['a missing table', failedQuery(pg({ code: '42P01', severity: 'ERROR' }, 'relation "carrier" does not exist'))],
    ['55000 at statement level', failedQuery(pg({ code: '55000', severity: 'ERROR' }, 'cannot execute in a read-only transaction'))],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'Connection terminated unexpectedly'],
    ['undefined', undefined],
    ['a message only containing the words', new Error('the row says: Connection terminated unexpectedly')],
  ];
  for (const [name, error] of unreachable) it(`unreachable: ${name}`, () => expect(isDatabaseUnreachable(error)).to.equal(true));
  for (const [name, error] of reachable) it(`not unreachable: ${name}`, () => expect(isDatabaseUnreachable(error)).to.equal(false));

  it('follows a cyclic cause chain without looping', () => {
    const error = new Error('a');
    (error as { cause?: unknown }).cause = error;
    expect(isDatabaseUnreachable(error)).to.equal(false);
  });
});

describe('what else a database error means', () => {
  it('isContentError: SQLSTATE classes 22, 23 and 54000, and nothing that is an outage or a collision', () => {
    const rows: [unknown, boolean][] = [
      [{ code: '22021' }, true],
      [{ code: '22P05' }, true],
      [{ code: '22003' }, true],
      [{ code: '23505' }, true],
      [{ code: '54000' }, true],
      [{ code: '57P01' }, false],
      [{ code: '08006' }, false],
      [{ code: '40P01' }, false],
      [{ code: 'ECONNREFUSED' }, false],
      [new Error('Connection terminated unexpectedly'), false],
      [null, false],
    ];
    for (const [error, expected] of rows) expect(isContentError(error), JSON.stringify(error)).to.equal(expected);
  });

  it('isTransactionCollision: deadlock and serialization failure, from pg or wrapped by TypeORM', () => {
    expect(isTransactionCollision({ code: '40P01' })).to.equal(true);
    expect(isTransactionCollision(Object.assign(new Error('wrapped'), { driverError: { code: '40001' } }))).to.equal(true);
    expect(isTransactionCollision({ code: '40002' })).to.equal(false);
    expect(isTransactionCollision(new Error('no code'))).to.equal(false);
  });

  it('isDatabaseStrained: class 53 and a cancelled statement, not a refused row or an outage', () => {
    for (const code of ['53100', '53200', '57014']) expect(isDatabaseStrained({ code }), code).to.equal(true);
    for (const code of ['22021', '08006', '57P01', '42P01']) expect(isDatabaseStrained({ code }), code).to.equal(false);
  });

  it('isWorthRetrying: an outage, a strained server or a collision; never a refused row or a fault of ours', () => {
    for (const code of ['ECONNREFUSED', '08006', '57P01', '53100', '57014', '40P01', '40001']) expect(isWorthRetrying(Object.assign(new Error('from pg'), { code })), code).to.equal(true);
    for (const code of ['22021', '23505', '54000', '42P01', '']) expect(isWorthRetrying(Object.assign(new Error('from pg'), { code })), code).to.equal(false);
  });
});
