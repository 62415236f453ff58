import type { Pool } from 'pg';
import { fairShare } from './probe-assignment';

/**
 * The SIP node's leases on the registration bindings it probes (main thread;
 * migrations/1765400000004-ProbeLease.ts). One `claim` a second: the node says it is alive, drops
 * the leases of bindings no longer probed, renews up to its fair share and claims free or lapsed
 * leases up to it. A lease lapses `leaseMs` after its last renewal, and only
 * then can another node take it: the row is the binding's, so two nodes never hold one at once.
 */

/** A lease outlives its last renewal by this long; a node renews every second. */
export const PROBE_LEASE_MS = 10_000;

/** A binding this node holds the lease of, as the database has it now. */
export interface LeasedBinding {
  readonly registrationId: string;
  readonly trunkId: string;
  readonly contact: string;
  readonly address: string;
  readonly port: number;
  readonly intervalSeconds: number;
}

export interface ClaimResult {
  readonly held: readonly LeasedBinding[];
  /** Nodes alive, this one included. */
  readonly nodes: number;
  /** Bindings to probe, over all nodes. */
  readonly contacts: number;
  readonly share: number;
}

export interface ProbeLeasesOptions {
  readonly pool: Pool;
  readonly nodeId: string;
  readonly leaseMs?: number;
}

/** Bindings to probe: unexpired, of a trunk with OPTIONS probing on. `r` is the registration. */
const PROBED = `EXISTS (SELECT 1 FROM trunk t WHERE t.id = r.trunk_id AND t.health_check_enabled) AND r.expires_at > now()`;

interface HeldRow {
  registration_id: string;
  trunk_id: string;
  contact: string;
  source_address: string;
  source_port: number;
  interval_seconds: number;
}

export class ProbeLeases {
  private readonly leaseMs: number;

  constructor(private readonly options: ProbeLeasesOptions) {
    this.leaseMs = options.leaseMs ?? PROBE_LEASE_MS;
  }

  /**
   * One round; throws on database errors (the caller keeps what it held until its own deadline).
   * Each statement stands alone: the claim's `ON CONFLICT ... WHERE` and the renewal's `node_id`
   * test re-read a row another node just wrote, so a lease renewed or taken meanwhile is not taken.
   *
   * A node over its share (another node joined) renews only its share and stops probing the rest
   * at once; those lapse `leaseMs` later and the other node claims them then. Nothing is handed
   * over while its old holder may still be probing it.
   */
  async claim(): Promise<ClaimResult> {
    const { pool, nodeId } = this.options;
    const lease = this.leaseMs;
    const client = await pool.connect();
    try {
      await client.query(
        `INSERT INTO probe_node (node_id, alive_until) VALUES ($1, now() + make_interval(secs => $2::float8 / 1000))
         ON CONFLICT (node_id) DO UPDATE SET alive_until = EXCLUDED.alive_until`,
        [nodeId, lease],
      );
      // Nodes gone without a word (a crash) leave their heartbeat and leases; a minute later they are cleared.
      await client.query(`DELETE FROM probe_node WHERE alive_until < now() - interval '1 minute'`);
      await client.query(`DELETE FROM probe_lease WHERE lease_until < now() - interval '1 minute'`);
      await client.query(`DELETE FROM probe_lease l WHERE l.node_id = $1 AND NOT EXISTS (SELECT 1 FROM registration r WHERE r.id = l.registration_id AND ${PROBED})`, [nodeId]);
      const counts = await client.query<{ nodes: number; contacts: number }>(
        `SELECT (SELECT count(*) FROM probe_node WHERE alive_until > now())::int AS nodes,
                (SELECT count(*) FROM registration r WHERE ${PROBED})::int AS contacts`,
      );
      const { nodes, contacts } = counts.rows[0];
      const share = fairShare(contacts, nodes);
      const renewed = await client.query<{ registration_id: string }>(
        `UPDATE probe_lease SET lease_until = now() + make_interval(secs => $2::float8 / 1000)
          WHERE node_id = $1 AND registration_id IN (SELECT registration_id FROM probe_lease WHERE node_id = $1 ORDER BY registration_id LIMIT $3)
          RETURNING registration_id`,
        [nodeId, lease, share],
      );
      const ids = renewed.rows.map((row) => row.registration_id);
      if (ids.length < share) {
        // Picked at random, so nodes claiming at once mostly want different bindings; written in id
        // order, so two claims that want the same rows wait for each other in one order (random
        // order made each hold a row the other wanted next: a deadlock).
        const claimed = await client.query<{ registration_id: string }>(
          `INSERT INTO probe_lease (registration_id, node_id, lease_until)
           SELECT pick.id, $1, now() + make_interval(secs => $2::float8 / 1000)
             FROM (SELECT r.id FROM registration r
                    WHERE ${PROBED} AND NOT EXISTS (SELECT 1 FROM probe_lease l WHERE l.registration_id = r.id AND l.lease_until > now())
                    ORDER BY random() LIMIT $3) AS pick
            ORDER BY pick.id
           ON CONFLICT (registration_id) DO UPDATE SET node_id = EXCLUDED.node_id, lease_until = EXCLUDED.lease_until
            WHERE probe_lease.lease_until <= now() OR probe_lease.node_id = EXCLUDED.node_id
           RETURNING registration_id`,
          [nodeId, lease, share - ids.length],
        );
        ids.push(...claimed.rows.map((row) => row.registration_id));
      }
      const { rows } = await client.query<HeldRow>(
        `SELECT r.id AS registration_id, r.trunk_id, r.contact, r.source_address, r.source_port, t.health_check_interval_seconds AS interval_seconds
           FROM registration r JOIN trunk t ON t.id = r.trunk_id
          WHERE r.id = ANY($1::uuid[])
          ORDER BY r.id`,
        [ids],
      );
      return {
        held: rows.map((row) => ({
          registrationId: row.registration_id,
          trunkId: row.trunk_id,
          contact: row.contact,
          address: row.source_address,
          port: row.source_port,
          intervalSeconds: row.interval_seconds,
        })),
        nodes,
        contacts,
        share,
      };
    } finally {
      client.release();
    }
  }

  /** Gives every lease back and leaves the count of live nodes: for a node that stops, or has no worker to probe with. */
  async release(): Promise<void> {
    await this.options.pool.query('DELETE FROM probe_lease WHERE node_id = $1', [this.options.nodeId]);
    await this.options.pool.query('DELETE FROM probe_node WHERE node_id = $1', [this.options.nodeId]);
  }
}
