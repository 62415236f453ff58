import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The operator's call limits: the maximum call length, after which a call without a session timer
 * (RFC 4028) is ended with a BYE to both ends. One row at most (like webhook_allowed_networks); no
 * row means the default (4 h). Every write notifies `config_changed`, so the SIP workers reload it.
 */
export class CallLimits1765400000001 implements MigrationInterface {
  name = 'CallLimits1765400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE call_limits (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        max_call_length_seconds integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT call_limits_max_call_length_seconds_check CHECK (max_call_length_seconds BETWEEN 60 AND 86400)
      )`,
      `CREATE UNIQUE INDEX call_limits_singleton_key ON call_limits ((true))`,
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
    await queryRunner.query(`DROP TABLE IF EXISTS call_limits CASCADE`);
  }
}

/** Frozen here rather than imported: a migration must not change when application code does. */
const NOTIFYING: readonly (readonly [string, string])[] = [['call_limits', 'id']];
