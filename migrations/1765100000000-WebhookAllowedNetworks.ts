import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The operator's webhook allow-list: networks a WEBHOOK step may reach besides public unicast
 * addresses. One row at most (like outbound_gateway); no row or an empty list means public only.
 * Every write notifies `config_changed`, so the SIP workers reload it.
 */
export class WebhookAllowedNetworks1765100000000 implements MigrationInterface {
  name = 'WebhookAllowedNetworks1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE webhook_allowed_networks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        cidrs text[] NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT webhook_allowed_networks_cidrs_check CHECK (cardinality(cidrs) <= 100)
      )`,
      `CREATE UNIQUE INDEX webhook_allowed_networks_singleton_key ON webhook_allowed_networks ((true))`,
    ];
    // The trigger functions are the initial migration's; this table joins its frozen list of notifying tables.
    for (const [table, key] of NOTIFYING) {
      statements.push(
        `CREATE TRIGGER ${table}_notify AFTER INSERT OR UPDATE OR DELETE ON ${table}
         FOR EACH ROW EXECUTE FUNCTION notify_config_change('${key}')`,
        `CREATE TRIGGER ${table}_notify_truncate AFTER TRUNCATE ON ${table}
         FOR EACH STATEMENT EXECUTE FUNCTION notify_config_truncate()`,
      );
    }
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS webhook_allowed_networks CASCADE`);
  }
}

/** Frozen here rather than imported: a migration must not change when application code does. */
const NOTIFYING: readonly (readonly [string, string])[] = [['webhook_allowed_networks', 'id']];
