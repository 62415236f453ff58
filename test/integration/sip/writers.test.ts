import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Pool } from 'pg';
import pino from 'pino';
import { CallOutcome, FailoverReason } from '../../../domain/call';
import { DialPlanApp } from '../../../domain/flow/flow';
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
    dialled: '+442079460001',
    caller: '+4930901820',
    startedAt: new Date('2026-11-26T10:00:00.123Z'),
    endedAt: null,
    outcome: CallOutcome.FAILED_OVER,
    failoverReason: FailoverReason.PBX_SERVER_ERROR,
    finalStatus: 200,
    attempts: [{ target: 'sip:pbx@10.0.0.5', status: 503, startedAt: '2026-11-26T10:00:00.123Z', firstResponseAt: '2026-11-26T10:00:00.140Z', endedAt: '2026-11-26T10:00:00.141Z' }],
    steps: [],
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
    const flaky = { query: (text: string, values: unknown[]) => (fail ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) : pool.query(text, values)) } as unknown as Pool;
    const recorder = new BatchRecorder({ pool: flaky, logger: silent, flushIntervalMs: 60_000 });
    const entry = draft();
    recorder.record(entry);
    await recorder.flush();
    expect(recorder.stats()).to.deep.include({ queued: 1, dropped: 0, failedWrites: 1 });
    fail = false;
    await recorder.close();
    expect((await pool.query('SELECT 1 FROM call_record WHERE id = $1', [entry.id])).rowCount).to.equal(1);
  });

  it('drops (and counts) beyond its queue limit instead of growing without bound', async () => {
    const never = { query: () => Promise.reject(new Error('down')) } as unknown as Pool;
    const recorder = new BatchRecorder({ pool: never, logger: silent, flushIntervalMs: 60_000, maxQueued: 2, batchSize: 100 });
    for (let i = 0; i < 5; i++) recorder.record(draft());
    recorder.ended(randomUUID(), new Date());
    recorder.ended(randomUUID(), new Date());
    recorder.ended(randomUUID(), new Date());
    expect(recorder.stats()).to.deep.include({ queued: 4, dropped: 4 });
    await recorder.close();
  });

  it('writes the dial plan steps a call took, in order, and [] when none (the migration default)', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const planId = randomUUID();
    const steps = [
      { dialPlanId: planId, stepId: 'mobile', app: DialPlanApp.FORWARD, exit: 'noAnswer', at: '2026-11-26T10:00:00.200Z' },
      { dialPlanId: planId, stepId: 'busy', app: DialPlanApp.HANGUP, exit: null, at: '2026-11-26T10:00:20.200Z' },
    ];
    const withSteps = draft({ steps });
    recorder.record(withSteps);
    await recorder.close();
    const { rows } = await pool.query('SELECT steps FROM call_record WHERE id = $1', [withSteps.id]);
    expect(rows[0].steps).to.deep.equal(steps);
    const { rows: older } = await pool.query(
      `INSERT INTO call_record (call_id, dialled, started_at, outcome, worker) VALUES ('before-steps', '+1', now(), 'REJECTED', 'w') RETURNING steps`,
    );
    expect(older[0].steps).to.deep.equal([]);
    const refused = await pool.query(`INSERT INTO call_record (call_id, dialled, started_at, outcome, worker, steps) VALUES ('x', '+1', now(), 'REJECTED', 'w', '{}')`).catch((error: { constraint?: string }) => error);
    expect(refused).to.have.property('constraint', 'call_record_steps_check');
  });

  it('escapes and cuts the text of each step, as every other text on a record', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const hostile = draft({
      steps: [{ dialPlanId: randomUUID(), stepId: `s\u0000${'x'.repeat(400)}`, app: DialPlanApp.FORWARD, exit: 'no\u0000Answer', at: '2026-11-26T10:00:00.200Z' }],
    });
    recorder.record(hostile);
    await recorder.close();
    expect(recorder.stats()).to.deep.include({ refused: 0, sanitised: 1 });
    const { rows } = await pool.query('SELECT steps FROM call_record WHERE id = $1', [hostile.id]);
    expect(rows[0].steps[0].exit).to.equal('no%00Answer');
    expect(rows[0].steps[0].stepId).to.have.length(256);
    expect(rows[0].steps[0].stepId.startsWith('s%00xxx')).to.equal(true);
  });

  it('escapes control characters and cuts over-long values before they are queued (RFC 4475 escnull)', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const good = [draft(), draft()];
    const hostile = draft({
      callId: `nul\u0000in-call-id-\u0001\u007f\u0085${'x'.repeat(1000)}`,
      did: null,
      dialled: 'null-\u0000-null',
      caller: 'sip:null-\u0000-null@example.com',
      attempts: [{ target: `sip:pbx\u0000@10.0.0.5;${'p'.repeat(2000)}`, status: null, startedAt: '2026-11-26T10:00:00.123Z', firstResponseAt: null, endedAt: null }],
    });
    recorder.record(good[0]);
    recorder.record(hostile);
    recorder.record(good[1]);
    await recorder.close();
    expect(recorder.stats()).to.deep.include({ queued: 0, refused: 0, sanitised: 1 });
    const { rows } = await pool.query('SELECT id, call_id, dialled, caller, attempts FROM call_record WHERE id = ANY($1)', [[...good, hostile].map((entry) => entry.id)]);
    expect(rows).to.have.length(3, 'the good rows and the escaped one are all written');
    const written = rows.find((row) => row.id === hostile.id);
    expect(written.dialled).to.equal('null-%00-null');
    expect(written.caller).to.equal('sip:null-%00-null@example.com');
    expect(written.call_id).to.match(/^nul%00in-call-id-%01%7F%C2%85x+…$/);
    expect(written.call_id).to.have.length(256);
    expect(written.attempts[0].target).to.have.length(512);
    expect(written.attempts[0].target.startsWith('sip:pbx%00@10.0.0.5;ppp')).to.equal(true);
  });

  it('isolates the rows the database refuses for their content, writes every other one, and counts the refused', async () => {
    const recorder = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000, batchSize: 100 });
    const good = Array.from({ length: 20 }, () => draft());
    // Past what the schema takes, whatever the sanitiser does: int out of range (22003), not a uuid (22P02).
    const outOfRange = draft({ finalStatus: 2 ** 40 });
    const notUuid = draft({ id: 'not-a-uuid' });
    const batch = [...good.slice(0, 7), outOfRange, ...good.slice(7, 15), notUuid, ...good.slice(15)];
    for (const entry of batch) recorder.record(entry);
    recorder.ended(good[3].id, new Date('2026-11-26T10:05:00Z'));
    await recorder.close();
    expect(recorder.stats()).to.deep.include({ queued: 0, refused: 2, failedWrites: 0 });
    const { rows } = await pool.query('SELECT id, ended_at FROM call_record WHERE id = ANY($1)', [good.map((entry) => entry.id)]);
    expect(rows).to.have.length(20);
    expect(rows.find((row) => row.id === good[3].id).ended_at.toISOString()).to.equal('2026-11-26T10:05:00.000Z');
    // And what comes after is not blocked.
    const later = new BatchRecorder({ pool, logger: silent, flushIntervalMs: 60_000 });
    const next = draft();
    later.record(next);
    await later.close();
    expect((await pool.query('SELECT 1 FROM call_record WHERE id = $1', [next.id])).rowCount).to.equal(1);
  });

  it('an error that is neither an outage nor about content (a fault of ours) is isolated too, never retried forever', async () => {
    const poison = draft();
    // A pool whose statement fails, as a bug or a missing table would (42P01), whenever the poison row is in it.
    const faulty = {
      query: (text: string, values: unknown[]) =>
        Array.isArray(values[0]) && values[0].includes(poison.id)
          ? Promise.reject(Object.assign(new Error('relation "call_record" does not exist'), { code: '42P01' }))
          : pool.query(text, values),
    } as unknown as Pool;
    const recorder = new BatchRecorder({ pool: faulty, logger: silent, flushIntervalMs: 60_000, batchSize: 100 });
    const good = Array.from({ length: 9 }, () => draft());
    for (const entry of [...good.slice(0, 4), poison, ...good.slice(4)]) recorder.record(entry);
    await recorder.close();
    expect(recorder.stats()).to.deep.include({ queued: 0, refused: 1, failedWrites: 0 });
    expect((await pool.query('SELECT 1 FROM call_record WHERE id = ANY($1)', [good.map((entry) => entry.id)])).rowCount).to.equal(9);
  });

  it('with the database down, retries on a back-off timer, not once per new record', async () => {
    let attempts = 0;
    let down = true;
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const outage = {
      query: (text: string, values: unknown[]) => {
        attempts++;
        return down ? Promise.reject(refused) : pool.query(text, values);
      },
    } as unknown as Pool;
    // A batch of one: before the fix every record started a write of its own.
    const recorder = new BatchRecorder({ pool: outage, logger: silent, flushIntervalMs: 50, batchSize: 1 });
    const drafts = Array.from({ length: 50 }, () => draft());
    for (const entry of drafts) {
      recorder.record(entry);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // 250 ms doubling with jitter (half to all of the delay): at most 5 attempts in about a second.
    expect(attempts).to.be.within(2, 5);
    expect(recorder.stats()).to.deep.include({ queued: 50, dropped: 0, failedWrites: attempts });
    down = false;
    await recorder.close();
    expect(recorder.stats().queued).to.equal(0);
    expect((await pool.query('SELECT 1 FROM call_record WHERE id = ANY($1)', [drafts.map((entry) => entry.id)])).rowCount).to.equal(50);
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
