import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { CallAttempt, CallOutcome, FailoverReason } from '../../domain/call';

/** A call record as the call path hands it over; written later, in batches. */
export interface CallRecordDraft {
  readonly id: string;
  readonly callId: string;
  readonly companyId: string | null;
  readonly trunkId: string | null;
  readonly did: string;
  readonly caller: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly outcome: CallOutcome;
  readonly failoverReason: FailoverReason | null;
  readonly finalStatus: number | null;
  readonly attempts: readonly CallAttempt[];
  readonly worker: string;
}

export interface CallRecorder {
  /** Queues a record; never blocks and never throws. */
  record(draft: CallRecordDraft): void;
  /** Queues the end time of an answered call (its BYE). */
  ended(id: string, endedAt: Date): void;
}

export interface BatchRecorderOptions {
  readonly pool: Pool;
  readonly logger: Logger;
  /** Flush at least this often. */
  readonly flushIntervalMs?: number;
  /** Flush when this many are queued. */
  readonly batchSize?: number;
  /** Queued items beyond this are dropped (and counted): a database outage must not eat the worker's memory. */
  readonly maxQueued?: number;
}

const INSERT = `
  INSERT INTO call_record (id, call_id, company_id, trunk_id, did, caller, started_at, ended_at, outcome,
                           failover_reason, final_status, attempts, worker)
  SELECT r.id, r.call_id,
         (SELECT c.id FROM company c WHERE c.id = r.company_id),
         (SELECT t.id FROM trunk t WHERE t.id = r.trunk_id),
         r.did, r.caller, r.started_at, r.ended_at, r.outcome, r.failover_reason, r.final_status, r.attempts, r.worker
  FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[],
              $8::timestamptz[], $9::text[], $10::text[], $11::int[], $12::jsonb[], $13::text[])
       AS r(id, call_id, company_id, trunk_id, did, caller, started_at, ended_at, outcome, failover_reason,
            final_status, attempts, worker)
  ON CONFLICT (id) DO NOTHING`;

const END = `
  UPDATE call_record SET ended_at = e.ended_at
  FROM unnest($1::uuid[], $2::timestamptz[]) AS e(id, ended_at)
  WHERE call_record.id = e.id`;

/**
 * Call records go to PostgreSQL off the call path: queued, then written in one statement per
 * batch (a company or trunk deleted meanwhile becomes null rather than failing the batch).
 * A failed write is retried with the next flush; ends are written after the inserts they update.
 */
export class BatchRecorder implements CallRecorder {
  private records: CallRecordDraft[] = [];
  private ends: { id: string; endedAt: Date }[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private dropped = 0;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxQueued: number;

  constructor(private readonly options: BatchRecorderOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 500;
    this.maxQueued = options.maxQueued ?? 100_000;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  record(draft: CallRecordDraft): void {
    if (this.records.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.records.push(draft);
    if (this.records.length >= this.batchSize) void this.flush();
  }

  ended(id: string, endedAt: Date): void {
    if (this.ends.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.ends.push({ id, endedAt });
  }

  stats(): { queued: number; dropped: number } {
    return { queued: this.records.length + this.ends.length, dropped: this.dropped };
  }

  /** Writes everything queued so far. Concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.records.length > 0 || this.ends.length > 0) {
      const records = this.records.splice(0, this.batchSize);
      const ends = this.records.length === 0 ? this.ends.splice(0, this.batchSize) : [];
      try {
        if (records.length > 0) await this.options.pool.query(INSERT, columns(records));
        if (ends.length > 0) await this.options.pool.query(END, [ends.map((end) => end.id), ends.map((end) => end.endedAt)]);
      } catch (error) {
        this.records.unshift(...records);
        this.ends.unshift(...ends);
        this.options.logger.error({ err: error, queued: this.records.length + this.ends.length }, 'call records not written; retrying');
        return;
      }
    }
  }

  /** Final flush and stop. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function columns(records: readonly CallRecordDraft[]): unknown[] {
  return [
    records.map((r) => r.id),
    records.map((r) => r.callId),
    records.map((r) => r.companyId),
    records.map((r) => r.trunkId),
    records.map((r) => r.did),
    records.map((r) => r.caller),
    records.map((r) => r.startedAt),
    records.map((r) => r.endedAt),
    records.map((r) => r.outcome),
    records.map((r) => r.failoverReason),
    records.map((r) => r.finalStatus),
    records.map((r) => JSON.stringify(r.attempts)),
    records.map((r) => r.worker),
  ];
}
