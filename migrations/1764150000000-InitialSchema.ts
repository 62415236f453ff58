import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The configuration tables, the tables the SIP role writes, and the triggers that NOTIFY every
 * configuration write. Constraint names matter: the API maps unique violations to CONFLICT by them.
 */
export class InitialSchema1764150000000 implements MigrationInterface {
  name = 'InitialSchema1764150000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE EXTENSION IF NOT EXISTS pgcrypto`,

      `CREATE TABLE company (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        time_zone text NOT NULL CHECK (char_length(time_zone) BETWEEN 1 AND 64),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE INDEX company_page_idx ON company (created_at, id)`,

      `CREATE TABLE api_key (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope text NOT NULL,
        company_id uuid REFERENCES company (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        key_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_key_hash_key UNIQUE (key_hash),
        CONSTRAINT api_key_scope_check CHECK (
          (scope = 'OPERATOR' AND company_id IS NULL) OR (scope = 'COMPANY' AND company_id IS NOT NULL))
      )`,
      `CREATE INDEX api_key_company_idx ON api_key (company_id, created_at, id)`,

      `CREATE TABLE carrier (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        source_cidrs text[] NOT NULL CHECK (cardinality(source_cidrs) BETWEEN 1 AND 100),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE UNIQUE INDEX carrier_name_key ON carrier (lower(name))`,
      `CREATE INDEX carrier_page_idx ON carrier (created_at, id)`,

      `CREATE TABLE outbound_gateway (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        uri text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE UNIQUE INDEX outbound_gateway_singleton_key ON outbound_gateway ((true))`,

      `CREATE TABLE dial_plan (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES company (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        internal_number text NOT NULL CHECK (internal_number ~ '^[0-9]{1,15}$'),
        flow jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT dial_plan_internal_number_key UNIQUE (company_id, internal_number),
        CONSTRAINT dial_plan_company_key UNIQUE (id, company_id)
      )`,
      `CREATE INDEX dial_plan_page_idx ON dial_plan (company_id, created_at, id)`,

      `CREATE TABLE trunk (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES company (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        sip_username text NOT NULL CHECK (sip_username ~ '^[A-Za-z0-9._-]{3,64}$'),
        digest_realm text NOT NULL,
        ha1_md5 text NOT NULL,
        ha1_sha256 text NOT NULL,
        digest_algorithms text[] NOT NULL DEFAULT '{MD5,SHA256}' CHECK (
          cardinality(digest_algorithms) >= 1 AND digest_algorithms <@ '{MD5,SHA256}'::text[]),
        max_concurrent_calls integer NOT NULL CHECK (max_concurrent_calls BETWEEN 1 AND 10000),
        failover_enabled boolean NOT NULL DEFAULT false,
        failover_dial_plan_id uuid,
        no_provisional_timeout_seconds integer NOT NULL DEFAULT 15
          CHECK (no_provisional_timeout_seconds BETWEEN 1 AND 60),
        trigger_status_codes integer[] NOT NULL DEFAULT '${ALL_5XX}' CHECK (
          500 <= ALL (trigger_status_codes) AND 599 >= ALL (trigger_status_codes)),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- The failover dial plan must be the trunk's own company's. NO ACTION (not RESTRICT) so that
        -- deleting a company, which cascades to both tables in one statement, still works.
        CONSTRAINT trunk_failover_dial_plan_fkey FOREIGN KEY (failover_dial_plan_id, company_id)
          REFERENCES dial_plan (id, company_id),
        CONSTRAINT trunk_failover_needs_dial_plan CHECK (NOT failover_enabled OR failover_dial_plan_id IS NOT NULL)
      )`,
      `CREATE UNIQUE INDEX trunk_sip_username_key ON trunk (lower(sip_username))`,
      `CREATE INDEX trunk_page_idx ON trunk (company_id, created_at, id)`,
      `CREATE INDEX trunk_failover_dial_plan_idx ON trunk (failover_dial_plan_id)`,

      `CREATE TABLE did (
        number text PRIMARY KEY CHECK (number ~ '^\\+[1-9][0-9]{6,14}$'),
        trunk_id uuid REFERENCES trunk (id) ON DELETE CASCADE,
        dial_plan_id uuid REFERENCES dial_plan (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT did_one_owner CHECK (num_nonnulls(trunk_id, dial_plan_id) = 1)
      )`,
      `CREATE INDEX did_trunk_idx ON did (trunk_id)`,
      `CREATE UNIQUE INDEX did_dial_plan_key ON did (dial_plan_id)`,

      `CREATE TABLE registration (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        trunk_id uuid NOT NULL REFERENCES trunk (id) ON DELETE CASCADE,
        contact text NOT NULL,
        source_address text NOT NULL,
        source_port integer NOT NULL CHECK (source_port BETWEEN 1 AND 65535),
        expires_at timestamptz NOT NULL,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT registration_contact_key UNIQUE (trunk_id, contact)
      )`,
      `CREATE INDEX registration_expires_idx ON registration (expires_at)`,

      `CREATE TABLE trunk_load (
        trunk_id uuid NOT NULL REFERENCES trunk (id) ON DELETE CASCADE,
        node_id text NOT NULL,
        active_calls integer NOT NULL CHECK (active_calls >= 0),
        reported_at timestamptz NOT NULL,
        PRIMARY KEY (trunk_id, node_id)
      )`,

      `CREATE TABLE call_record (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        call_id text NOT NULL,
        company_id uuid REFERENCES company (id) ON DELETE CASCADE,
        trunk_id uuid REFERENCES trunk (id) ON DELETE SET NULL,
        did text NOT NULL,
        caller text,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        outcome text NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED_OVER', 'REJECTED', 'CANCELLED')),
        failover_reason text CHECK (failover_reason IN (
          'NOT_REGISTERED', 'NO_PROVISIONAL_RESPONSE', 'PBX_SERVER_ERROR', 'CONCURRENCY_LIMIT', 'PBX_UNREACHABLE')),
        final_status integer,
        attempts jsonb NOT NULL DEFAULT '[]',
        worker text NOT NULL
      )`,
      `CREATE INDEX call_record_company_idx ON call_record (company_id, started_at DESC, id DESC)`,
      `CREATE INDEX call_record_trunk_idx ON call_record (trunk_id, started_at DESC, id DESC)`,
      `CREATE INDEX call_record_page_idx ON call_record (started_at DESC, id DESC)`,

      // Every configuration write notifies in its own transaction: delivered on commit, never on rollback.
      `CREATE FUNCTION notify_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changed jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
      BEGIN
        PERFORM pg_notify('config_changed', json_build_object(
          'table', TG_TABLE_NAME, 'id', changed ->> TG_ARGV[0], 'op', TG_OP)::text);
        RETURN NULL;
      END $$`,
      // TRUNCATE fires no row trigger; listeners treat id "*" as "reload the whole table".
      `CREATE FUNCTION notify_config_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('config_changed', json_build_object('table', TG_TABLE_NAME, 'id', '*', 'op', 'TRUNCATE')::text);
        RETURN NULL;
      END $$`,
    ];
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
    const tables = ['call_record', 'trunk_load', 'registration', 'did', 'trunk', 'dial_plan', 'outbound_gateway', 'carrier', 'api_key', 'company'];
    for (const table of tables) await queryRunner.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS notify_config_change()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS notify_config_truncate()`);
  }
}

/** Every 5xx status, the default failover trigger set. */
const ALL_5XX = `{${Array.from({ length: 100 }, (_, index) => 500 + index).join(',')}}`;

/** Frozen here rather than imported: a migration must not change when application code does. */
const NOTIFYING: readonly (readonly [string, string])[] = [
  ['company', 'id'],
  ['carrier', 'id'],
  ['outbound_gateway', 'id'],
  ['trunk', 'id'],
  ['did', 'number'],
  ['dial_plan', 'id'],
  ['registration', 'id'],
];
