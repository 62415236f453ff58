import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A key that stops being valid is announced on channel `api_key_revoked` with `{"id": "<key id>"}`
 * (never its hash), so every API node closes the subscription sockets that key opened: on
 * revocation (`revoked_at` set), on deletion (its company was deleted), and `{"id": "*"}` on a
 * TRUNCATE. Delivered on commit, never on rollback, like every other notification.
 */
export class ApiKeyRevokedNotify1765400000003 implements MigrationInterface {
  name = 'ApiKeyRevokedNotify1765400000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE FUNCTION api_key_revoked_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('api_key_revoked', json_build_object('id', OLD.id)::text);
        RETURN NULL;
      END $$`,
      `CREATE FUNCTION api_key_truncated_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('api_key_revoked', json_build_object('id', '*')::text);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER api_key_revoked_notify AFTER UPDATE OF revoked_at ON api_key
         FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
         EXECUTE FUNCTION api_key_revoked_notify()`,
      `CREATE TRIGGER api_key_deleted_notify AFTER DELETE ON api_key
         FOR EACH ROW EXECUTE FUNCTION api_key_revoked_notify()`,
      `CREATE TRIGGER api_key_truncated_notify AFTER TRUNCATE ON api_key
         FOR EACH STATEMENT EXECUTE FUNCTION api_key_truncated_notify()`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `DROP TRIGGER IF EXISTS api_key_truncated_notify ON api_key`,
      `DROP TRIGGER IF EXISTS api_key_deleted_notify ON api_key`,
      `DROP TRIGGER IF EXISTS api_key_revoked_notify ON api_key`,
      `DROP FUNCTION IF EXISTS api_key_truncated_notify()`,
      `DROP FUNCTION IF EXISTS api_key_revoked_notify()`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }
}
