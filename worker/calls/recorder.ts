import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorCode, isContentError, isWorthRetrying } from '../../app/database-errors';
import type { CallAttempt, CallOutcome, CallStep, FailoverReason } from '../../domain/call';
import { systemClock, type Clock, type Timer } from '../clock';
import { optionalRecordText, recordAttempt, recordStep, recordText } from './record-text';

/** A call record as the call path hands it over; written later, in batches. */
export interface CallRecordDraft {
  readonly id: string;
  readonly callId: string;
  readonly companyId: string | null;
  readonly trunkId: string | null;
  /** The dialled number in E.164, or null when the Request-URI user is not a number. */
  readonly did: string | null;
  /** The Request-URI user as the carrier sent it (the whole URI when it has none). */
  readonly dialled: string;
  readonly caller: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly outcome: CallOutcome;
  readonly failoverReason: FailoverReason | null;
  readonly finalStatus: number | null;
  readonly attempts: readonly CallAttempt[];
  /** The dial plan steps taken, in order; empty when no plan ran. */
  readonly steps: readonly CallStep[];
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
  /** Wait before retrying after the database was unavailable: doubles per failure up to the maximum. */
  readonly backoff?: RecorderBackoff;
  readonly clock?: Clock;
  /** Uniform in [0, 1): the jitter source. */
  readonly random?: () => number;
}

export interface RecorderBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_RECORDER_BACKOFF: RecorderBackoff = { initialMs: 250, maxMs: 30_000 };

/** What the recorder reports with the worker's counters. */
export interface RecorderStats {
  /** Records and end times waiting to be written. */
  readonly queued: number;
  /** Thrown away because the queue was full (a long database outage). */
  readonly dropped: number;
  /** Refused by the database for their content (or any fault of their own), isolated and thrown away. */
  readonly refused: number;
  /** Records with a value escaped or cut before it was queued. */
  readonly sanitised: number;
  /** Writes that failed because the database was unavailable. */
  readonly failedWrites: number;
}

const INSERT = `
  INSERT INTO call_record (id, call_id, company_id, trunk_id, did, dialled, caller, started_at, ended_at, outcome,
                           failover_reason, final_status, attempts, worker, steps)
  SELECT r.id, r.call_id,
         (SELECT c.id FROM company c WHERE c.id = r.company_id),
         (SELECT t.id FROM trunk t WHERE t.id = r.trunk_id),
         r.did, r.dialled, r.caller, r.started_at, r.ended_at, r.outcome, r.failover_reason, r.final_status,
         r.attempts, r.worker, r.steps
  FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
              $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::int[], $13::jsonb[],
              $14::text[], $15::jsonb[])
       AS r(id, call_id, company_id, trunk_id, did, dialled, caller, started_at, ended_at, outcome,
            failover_reason, final_status, attempts, worker, steps)
  ON CONFLICT (id) DO NOTHING`;

const END = `
  UPDATE call_record SET ended_at = e.ended_at
  FROM unnest($1::uuid[], $2::timestamptz[]) AS e(id, ended_at)
  WHERE call_record.id = e.id`;

/** What a write of part of the queue came to. */
type WriteResult = 'written' | 'unavailable';

/**
 * Call records go to PostgreSQL off the call path: queued, then written in one statement per
 * batch (a company or trunk deleted meanwhile becomes null rather than failing the batch); ends
 * are written after the inserts they update. Every text value is escaped and cut on the way in
 * (`record-text.ts`). A batch the database refuses for its content is split in halves until the
 * refused rows are alone; each is logged, counted and dropped, the rest is written. When the
 * database is unavailable the queue waits a jittered, doubling back-off (250 ms to 30 s by
 * default) before the next attempt, and new records only queue meanwhile.
 */
export class BatchRecorder implements CallRecorder {
  private records: CallRecordDraft[] = [];
  private ends: { id: string; endedAt: Date }[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private dropped = 0;
  private refused = 0;
  private sanitised = 0;
  private failedWrites = 0;
  /** Consecutive failed writes: the back-off's exponent. */
  private failuresInRow = 0;
  /** No write starts before this time (clock ms); 0 when not backing off. */
  private retryAt = 0;
  private retryTimer: Timer | null = null;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly backoff: RecorderBackoff;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(private readonly options: BatchRecorderOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 500;
    this.maxQueued = options.maxQueued ?? 100_000;
    this.backoff = options.backoff ?? DEFAULT_RECORDER_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  record(draft: CallRecordDraft): void {
    if (this.records.length >= this.maxQueued) {
      this.drop('record');
      return;
    }
    this.records.push(this.sanitise(draft));
    if (this.records.length >= this.batchSize && !this.backingOff()) void this.flush();
  }

  ended(id: string, endedAt: Date): void {
    if (this.ends.length >= this.maxQueued) {
      this.drop('end');
      return;
    }
    this.ends.push({ id: recordText(id), endedAt });
  }

  stats(): RecorderStats {
    return {
      queued: this.records.length + this.ends.length,
      dropped: this.dropped,
      refused: this.refused,
      sanitised: this.sanitised,
      failedWrites: this.failedWrites,
    };
  }

  /** Writes everything queued so far, unless the database is being waited for. Concurrent calls share one write. */
  flush(): Promise<void> {
    if (this.backingOff()) return Promise.resolve();
    this.flushing ??= this.write().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Final flush (at once, even while backing off) and stop. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.retryAt = 0;
    await this.flush();
    const { queued } = this.stats();
    if (queued > 0) this.options.logger.error({ queued }, 'call records not written before stop; lost');
  }

  private backingOff(): boolean {
    return this.retryAt > this.clock.now();
  }

  private async write(): Promise<void> {
    while (this.records.length > 0 || this.ends.length > 0) {
      const records = this.records.splice(0, this.batchSize);
      if (records.length > 0) {
        if ((await this.writeIsolating(records, INSERT, columns, (rest) => this.records.unshift(...rest), refusedRecord)) === 'unavailable') return;
        continue;
      }
      const ends = this.ends.splice(0, this.batchSize);
      const written = await this.writeIsolating(
        ends,
        END,
        (part) => [part.map((end) => end.id), part.map((end) => end.endedAt)],
        (rest) => this.ends.unshift(...rest),
        (end) => ({ id: end.id, endedAt: String(end.endedAt) }),
      );
      if (written === 'unavailable') return;
    }
    if (this.failuresInRow > 0) {
      this.options.logger.info({ failuresInRow: this.failuresInRow }, 'call records written again');
      this.failuresInRow = 0;
    }
  }

  /**
   * Writes `items`; when the database refuses them for their content, writes each half on its
   * own, down to single rows, which are dropped: one bad row costs about 2·log2(batch) statements,
   * and every good row around it is written. Unwritten items go back to the queue's front when
   * the database is unavailable.
   */
  private async writeIsolating<T>(
    items: T[],
    text: string,
    values: (part: readonly T[]) => unknown[],
    requeue: (rest: T[]) => void,
    describe: (item: T) => Record<string, unknown>,
  ): Promise<WriteResult> {
    // A stack of parts still to write; the first half is on top so rows keep their order.
    const parts: T[][] = [items];
    for (let part = parts.pop(); part !== undefined; part = parts.pop()) {
      try {
        await this.options.pool.query(text, values(part));
      } catch (error) {
        // An outage, a server short of resources or a collision ends this write for now; anything
        // else is this part's own fault (a refused value, or a bug), so it is split until the
        // culprit is alone. Deciding "unavailable" positively keeps one bad row from holding up
        // every record behind it.
        if (isWorthRetrying(error)) {
          requeue([...part, ...parts.reverse().flat()]);
          this.unavailable(error);
          return 'unavailable';
        }
        if (part.length === 1) {
          this.refused++;
          const reason = error instanceof Error ? error.message : String(error);
          this.options.logger.error({ code: errorCode(error), content: isContentError(error), reason, row: describe(part[0]), refused: this.refused }, 'call record refused by the database; dropped');
          continue;
        }
        const middle = part.length >> 1;
        parts.push(part.slice(middle), part.slice(0, middle));
      }
    }
    return 'written';
  }

  /** The database did not answer or is shutting down: wait a jittered, doubling delay. */
  private unavailable(error: unknown): void {
    this.failedWrites++;
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failuresInRow);
    // Equal jitter: at least half the ceiling, so the attempts per worker stay bounded while workers spread out.
    const delayMs = Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
    this.failuresInRow++;
    const { code } = (error ?? {}) as { code?: unknown };
    this.options.logger.error(
      { err: error, code, queued: this.records.length + this.ends.length, retryInMs: delayMs, failuresInRow: this.failuresInRow },
      'call records not written: database unavailable; retrying after a back-off',
    );
    if (this.closed) return;
    this.retryAt = this.clock.now() + delayMs;
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.after(delayMs, () => {
      this.retryTimer = null;
      void this.flush();
    });
  }

  private drop(kind: 'record' | 'end'): void {
    this.dropped++;
    // The first drop of an outage, then every 1,000th: a full queue must not flood the log.
    if (this.dropped % 1000 === 1) {
      this.options.logger.error({ kind, dropped: this.dropped, maxQueued: this.maxQueued }, 'call record queue full; records dropped');
    }
  }

  private sanitise(draft: CallRecordDraft): CallRecordDraft {
    const clean: CallRecordDraft = {
      ...draft,
      callId: recordText(draft.callId),
      did: optionalRecordText(draft.did),
      dialled: recordText(draft.dialled),
      caller: optionalRecordText(draft.caller),
      worker: recordText(draft.worker),
      attempts: draft.attempts.map(recordAttempt),
      steps: draft.steps.map(recordStep),
    };
    const changed =
      clean.callId !== draft.callId ||
      clean.did !== draft.did ||
      clean.dialled !== draft.dialled ||
      clean.caller !== draft.caller ||
      clean.worker !== draft.worker ||
      clean.attempts.some((attempt, index) => attempt !== draft.attempts[index]) ||
      clean.steps.some((step, index) => step !== draft.steps[index]);
    if (!changed) return draft;
    this.sanitised++;
    return clean;
  }
}

/** What identifies a refused record in its log line: its ids, not the values that may be hostile or huge. */
function refusedRecord(record: CallRecordDraft): Record<string, unknown> {
  return { id: record.id, callId: recordText(record.callId, 64), trunkId: record.trunkId, outcome: record.outcome };
}

function columns(records: readonly CallRecordDraft[]): unknown[] {
  return [
    records.map((r) => r.id),
    records.map((r) => r.callId),
    records.map((r) => r.companyId),
    records.map((r) => r.trunkId),
    records.map((r) => r.did),
    records.map((r) => r.dialled),
    records.map((r) => r.caller),
    records.map((r) => r.startedAt),
    records.map((r) => r.endedAt),
    records.map((r) => r.outcome),
    records.map((r) => r.failoverReason),
    records.map((r) => r.finalStatus),
    records.map((r) => JSON.stringify(r.attempts)),
    records.map((r) => r.worker),
    records.map((r) => JSON.stringify(r.steps)),
  ];
}
