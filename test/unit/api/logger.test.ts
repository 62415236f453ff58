import { expect } from 'chai';
import { QueryFailedError } from 'typeorm';
import { createLogger, redact, REDACTED_DEPTH, REDACTED_FIELDS, serializeError } from '../../../app/logger';

const SECRET = 'c68a3632c05d19b8a2d82be713433f9a';

function logged(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  write(createLogger('debug', { write: (line: string) => void lines.push(line) }));
  return lines.join('');
}

/** The row TypeORM puts in a failed INSERT: the HA1 hashes in `parameters`, the driver's `detail`. */
function failedInsert(): QueryFailedError {
  const driverError = Object.assign(new Error('new row for relation "trunk" violates check constraint "x"'), {
    code: '23514',
    severity: 'ERROR',
    table: 'trunk',
    constraint: 'x',
    detail: `Failing row contains (1, pbx, ${SECRET}).`,
    where: 'SQL statement',
  });
  return new QueryFailedError('INSERT INTO "trunk"("ha1_md5") VALUES ($1)', [SECRET], driverError);
}

describe('logger: no secret in any log line', () => {
  /** `{ [field]: SECRET, n: { [field]: SECRET, n: ... } }`, `levels` deep. */
  const nested = (field: string, levels: number): Record<string, unknown> =>
    levels === 0 ? { [field]: SECRET } : { [field]: SECRET, n: nested(field, levels - 1) };

  for (const field of REDACTED_FIELDS) {
    it(`redacts ${field} at every depth to ${REDACTED_DEPTH}, in objects and arrays, and in a child logger's bindings`, () => {
      const line = logged((logger) => logger.child({ [field]: SECRET }).info({ ...nested(field, REDACTED_DEPTH - 1), list: [[{ [field]: SECRET }]] }, 'x'));
      expect(line).not.to.include(SECRET);
      expect(line.split('[redacted]')).to.have.length(REDACTED_DEPTH + 3);
    });
  }

  it('leaves the caller\'s objects unchanged, and objects with nothing to redact as they are', () => {
    const input = { trunk: { id: 't', password: SECRET }, plain: { a: 1 } };
    const output = redact(input) as typeof input;
    expect(input.trunk.password).to.equal(SECRET);
    expect(output.trunk.password).to.equal('[redacted]');
    expect(output.plain).to.equal(input.plain);
    const clean = { a: [1, { b: 'c' }], d: new Date(0) };
    expect(redact(clean)).to.equal(clean);
  });

  it('leaves bytes alone: a datagram in a log line is not walked byte by byte', () => {
    const datagram = Buffer.from('INVITE sip:x SIP/2.0');
    expect((redact({ datagram }) as { datagram: Buffer }).datagram).to.equal(datagram);
  });

  it('reduces an Error at any key and depth, not only under err', () => {
    const line = logged((logger) => logger.warn({ failure: failedInsert(), batch: { rows: [{ failure: failedInsert() }] } }, 'x'));
    expect(line).not.to.include(SECRET);
    expect(line.split('"type":"QueryFailedError"')).to.have.length(3);
  });

  it('logs a failed query by type, message, code and stack: no SQL, parameters, detail or driver error', () => {
    const line = logged((logger) => logger.error({ err: failedInsert() }, 'unexpected error'));
    expect(line).not.to.include(SECRET);
    const { err } = JSON.parse(line) as { err: Record<string, unknown> };
    expect(Object.keys(err).sort()).to.deep.equal(['code', 'constraint', 'message', 'severity', 'stack', 'table', 'type']);
    expect(err).to.deep.include({ type: 'QueryFailedError', code: '23514', table: 'trunk' });
  });

  it('does the same for a failed query given as the first argument, as a cause, and in an AggregateError', () => {
    const wrapped = new Error('update failed', { cause: new Error('inner', { cause: failedInsert() }) });
    const line = logged((logger) => {
      logger.error(failedInsert(), 'direct');
      logger.error({ err: wrapped }, 'caused');
      logger.error({ error: new AggregateError([failedInsert()], 'many') }, 'aggregate');
    });
    expect(line).not.to.include(SECRET);
    expect(line).to.include('"type":"QueryFailedError"');
  });

  it('keeps a plain object under err to the redaction paths', () => {
    expect(logged((logger) => logger.error({ err: { query: 'INSERT', parameters: [SECRET] } }, 'x'))).not.to.include(SECRET);
  });

  it('serializeError stops on a cyclic cause', () => {
    const error = new Error('loop');
    (error as { cause?: unknown }).cause = error;
    expect(JSON.stringify(serializeError(error))).to.include('loop');
  });
});
