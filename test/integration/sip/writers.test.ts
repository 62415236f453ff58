import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Pool } from 'pg';
import pino from 'pino';
import { CallOutcome, FailoverReason } from '../../../domain/call';
import { BatchRecorder, type CallRecordDraft } from '../../../worker/calls/recorder';
import { LoadReporter } from '../../../worker/edge/load-reporter';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const silent = pino({ level: 'silent' });

describe('SIP role writers: call records and trunk load (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pool: Pool;
  let companyId: string;
  let trunkId: string;

  before(async () => {
    database = await createTestDatabase();
    pool = new Pool({ connectionString: database.url, max: 2 });
    ({ rows: [{ id: companyId }] } = await pool.query(`INSERT INTO company (name, time_zone) VALUES ('W', 'UTC') RETURNING id`));
    ({ rows: [{ id: trunkId }] } = await pool.query(
      `INSERT INTO trunk (company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, max_concurrent_calls)
       VALUES ($1, 'T', 'writer', 'r', 'x', 'y', 5) RETURNING id`,
      [companyId],
    ));
  });
  after(async () => {
    await pool.end();
    await database.drop();
  });

  const draft = (overrides: Partial<CallRecordDraft> = {}): CallRecordDraft => ({
    id: randomUUID(),
    callId: `call-${randomUUID()}`,
    companyId,
    trunkId,
    did: '+442079460001',
    caller: '+4930901820',
    startedAt: new Date('2026-11-26T10:00:00.123Z'),
    endedAt: null,
    outcome: CallOutcome.FAILED_OVER,
    failoverReason: FailoverReason.PBX_SERVER_ERROR,
    finalStatus: 200,
    attempts: [{ target: 'sip:pbx@10.0.0.5', status: 503, startedAt: '2026-11-26T10:00:00.123Z', firstResponseAt: '2026-11-26T10:00:00.140Z', endedAt: '2026-11-26T10:00:00.141Z' }],
    worker: 'node/w0',
    ...overrides,
  });

  it('writes queued records in one batch, then their end times', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const drafts = [draft(), draft({ outcome: CallOutcome.DELIVERED, failoverReason: null }), draft({ outcome: CallOutcome.REJECTED, trunkId: null, finalStatus: 404 })];
    for (const entry of drafts) recorder.record(entry);
    recorder.ended(drafts[1].id, new Date('2026-11-26T10:05:00Z'));
    await recorder.close();
    const { rows } = await pool.query('SELECT * FROM call_record WHERE id = ANY($1) ORDER BY outcome', [drafts.map((entry) => entry.id)]);
    expect(rows.map((row) => row.outcome)).to.deep.equal(['DELIVERED', 'FAILED_OVER', 'REJECTED']);
    expect(rows[0].ended_at.toISOString()).to.equal('2026-11-26T10:05:00.000Z');
    expect(rows[1]).to.deep.include({ failover_reason: 'PBX_SERVER_ERROR', trunk_id: trunkId, company_id: companyId, worker: 'node/w0' });
    expect(rows[1].attempts).to.deep.equal(drafts[0].attempts);
    expect(rows[1].started_at.toISOString()).to.equal('2026-11-26T10:00:00.123Z');
  });

  it('keeps records whose trunk or company was deleted meanwhile, without them', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const gone = draft({ trunkId: randomUUID(), companyId: randomUUID() });
    recorder.record(gone);
    await recorder.close();
    const { rows } = await pool.query('SELECT trunk_id, company_id FROM call_record WHERE id = $1', [gone.id]);
    expect(rows).to.deep.equal([{ trunk_id: null, company_id: null }]);
  });

  it('keeps what it could not write and writes it on the next flush', async () => {
    let fail = true;
    const flaky = { query: (text: string, values: unknown[]) => (fail ? Promise.reject(new Error('connection refused')) : pool.query(text, values)) } as unknown as Pool;
    const recorder = new BatchRecorder({ pool: flaky, logger: silent, flushIntervalMs: 60_000 });
    const entry = draft();
    recorder.record(entry);
    await recorder.flush();
    expect(recorder.stats()).to.deep.equal({ queued: 1, dropped: 0 });
    fail = false;
    await recorder.close();
    expect((await pool.query('SELECT 1 FROM call_record WHERE id = $1', [entry.id])).rowCount).to.equal(1);
  });

  it('drops (and counts) beyond its queue limit instead of growing without bound', async () => {
    const never = { query: () => Promise.reject(new Error('down')) } as unknown as Pool;
    const recorder = new BatchRecorder({ pool: never, logger: silent, flushIntervalMs: 60_000, maxQueued: 2, batchSize: 100 });
    for (let i = 0; i < 5; i++) recorder.record(draft());
    expect(recorder.stats()).to.deep.equal({ queued: 2, dropped: 3 });
    await recorder.flush();
  });

  it('reports live calls per trunk, removes idle trunks, and clears its rows on stop', async () => {
    let entries = [{ trunkId, active: 3 }];
    const reporter = new LoadReporter({ pool, nodeId: 'node-a', entries: () => entries, logger: silent, intervalMs: 60_000 });
    await reporter.report();
    const rows = async () => (await pool.query('SELECT node_id, active_calls FROM trunk_load WHERE trunk_id = $1', [trunkId])).rows;
    expect(await rows()).to.deep.equal([{ node_id: 'node-a', active_calls: 3 }]);
    entries = [{ trunkId, active: 0 }, { trunkId: randomUUID(), active: 1 }];
    await reporter.report();
    expect(await rows()).to.deep.equal([], 'idle trunk removed; an unknown trunk is skipped, not an error');
    entries = [{ trunkId, active: 1 }];
    await reporter.report();
    expect(await rows()).to.deep.equal([{ node_id: 'node-a', active_calls: 1 }]);
    await reporter.stop();
    expect(await rows()).to.deep.equal([]);
  });
});
