import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who probes which registration binding with OPTIONS (issue 8): each SIP node claims a lease per
 * binding of a trunk with `health_check_enabled`, renews it about every second and lets it lapse
 * or releases it when it stops. One row per binding, so two nodes never hold one binding at once.
 * No foreign key to `registration`: a lease is advisory, a REGISTER that removes a binding must not
 * wait on it, a claim must not fail because a binding went meanwhile, and `TRUNCATE registration`
 * stays possible. The holder drops the lease of a binding gone at its next round, and any node
 * deletes leases lapsed for a minute (their node is gone).
 *
 * `probe_node` is each node's heartbeat: the nodes alive now, so that each claims a fair share of
 * the bindings and a node that joins finds some left to claim.
 *
 * Neither table notifies: they concern the SIP nodes' main threads only, which read them on their
 * own clock, and no worker's snapshot holds them.
 */
export class ProbeLease1765400000004 implements MigrationInterface {
  name = 'ProbeLease1765400000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE probe_node (
        node_id text PRIMARY KEY,
        alive_until timestamptz NOT NULL
      )`,
      `CREATE TABLE probe_lease (
        registration_id uuid PRIMARY KEY,
        node_id text NOT NULL,
        lease_until timestamptz NOT NULL
      )`,
      `CREATE INDEX probe_lease_node_idx ON probe_lease (node_id)`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS probe_lease`);
    await queryRunner.query(`DROP TABLE IF EXISTS probe_node`);
  }
}
