import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { TrunkLoad } from '../calls/channel-counter';

/** DESIGN: `trunk { activeCalls }` is current within a second. */
export const LOAD_REPORT_INTERVAL_MS = 1000;

/**
 * Writes this SIP node's live calls per trunk to `trunk_load` about once a second, so the API
 * can sum them over nodes. Rows of trunks that went idle are deleted; on stop, all of this
 * node's rows go. A trunk deleted meanwhile is skipped rather than failing the write.
 */
export class LoadReporter {
  private reported = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly options: {
      readonly pool: Pool;
      readonly nodeId: string;
      readonly entries: () => readonly TrunkLoad[];
      readonly logger: Logger;
      readonly intervalMs?: number;
    },
  ) {}

  /** Clears rows a crashed predecessor at this node id left behind, then reports every interval. */
  async start(): Promise<void> {
    await this.clear();
    this.timer = setInterval(() => void this.report(), this.options.intervalMs ?? LOAD_REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  report(): Promise<void> {
    this.writing ??= this.write().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    const busy = this.options.entries().filter((entry) => entry.active > 0);
    const now = new Set(busy.map((entry) => entry.trunkId));
    const idle = [...this.reported].filter((trunkId) => !now.has(trunkId));
    try {
      if (busy.length > 0) {
        await this.options.pool.query(
          `INSERT INTO trunk_load (trunk_id, node_id, active_calls, reported_at)
           SELECT l.trunk_id, $2, l.active, now() FROM unnest($1::uuid[], $3::int[]) AS l(trunk_id, active)
           WHERE EXISTS (SELECT 1 FROM trunk WHERE trunk.id = l.trunk_id)
           ON CONFLICT (trunk_id, node_id) DO UPDATE SET active_calls = EXCLUDED.active_calls, reported_at = EXCLUDED.reported_at`,
          [busy.map((entry) => entry.trunkId), this.options.nodeId, busy.map((entry) => entry.active)],
        );
        // Written rows must be deleted once idle, even if the delete below fails this time.
        for (const trunkId of now) this.reported.add(trunkId);
      }
      if (idle.length > 0) {
        await this.options.pool.query('DELETE FROM trunk_load WHERE node_id = $1 AND trunk_id = ANY($2::uuid[])', [this.options.nodeId, idle]);
      }
      this.reported = now;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'trunk load not reported');
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.writing;
    await this.clear();
  }

  private async clear(): Promise<void> {
    await this.options.pool.query('DELETE FROM trunk_load WHERE node_id = $1', [this.options.nodeId]).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'trunk load rows not removed');
    });
    this.reported.clear();
  }
}
