import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trunk health (DESIGN section 1, "till the emergency persists"): each trunk's OPTIONS probing
 * settings, its shared health state, and the events of its transitions.
 *
 * - `trunk_health`: one row per trunk, the meeting point of every worker and SIP node. Evidence
 *   (probes, calls, registrations) is applied to it under a row lock; it notifies `config_changed`
 *   only when what calls are routed by changes (state, reason, registered), not on each count.
 * - `trunk_event`: one row per transition. Ids are handed out under a transaction-level advisory
 *   lock held until commit, so they commit in order and a reader resuming `after` an id misses none.
 *   Each insert notifies `trunk_event` with the event's id, company and trunk.
 * - `PBX_DOWN`: the failover reason of a call routed while its trunk is down.
 */
export class TrunkHealth1765400000000 implements MigrationInterface {
  name = 'TrunkHealth1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE trunk
         ADD COLUMN health_check_enabled boolean NOT NULL DEFAULT false,
         ADD COLUMN health_check_interval_seconds integer NOT NULL DEFAULT 30
           CONSTRAINT trunk_health_check_interval_check CHECK (health_check_interval_seconds BETWEEN 5 AND 300),
         ADD COLUMN health_check_failures_to_down integer NOT NULL DEFAULT 3
           CONSTRAINT trunk_health_check_failures_check CHECK (health_check_failures_to_down BETWEEN 1 AND 10),
         ADD COLUMN health_check_successes_to_up integer NOT NULL DEFAULT 2
           CONSTRAINT trunk_health_check_successes_check CHECK (health_check_successes_to_up BETWEEN 1 AND 10)`,

      `ALTER TABLE call_record DROP CONSTRAINT call_record_failover_reason_check`,
      `ALTER TABLE call_record ADD CONSTRAINT call_record_failover_reason_check CHECK (failover_reason IN (
         'NOT_REGISTERED', 'NO_PROVISIONAL_RESPONSE', 'PBX_SERVER_ERROR', 'CONCURRENCY_LIMIT', 'PBX_UNREACHABLE', 'PBX_DOWN'))`,

      `CREATE TABLE trunk_health (
        trunk_id uuid PRIMARY KEY REFERENCES trunk (id) ON DELETE CASCADE,
        state text NOT NULL DEFAULT 'UNKNOWN' CHECK (state IN ('UP', 'DOWN', 'UNKNOWN')),
        reason text CHECK (reason IN ('NOT_REGISTERED', 'PROBES_FAILING', 'CALLS_FAILING')),
        registered boolean NOT NULL DEFAULT false,
        failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
        successes integer NOT NULL DEFAULT 0 CHECK (successes >= 0),
        since timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_probe_at timestamptz,
        last_probe_rtt_ms integer,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT trunk_health_down_has_reason CHECK ((state = 'DOWN') = (reason IS NOT NULL))
      )`,
      // Every trunk has its row from the start: evidence only ever updates.
      `INSERT INTO trunk_health (trunk_id, registered)
         SELECT t.id, EXISTS (SELECT 1 FROM registration r WHERE r.trunk_id = t.id AND r.expires_at > now()) FROM trunk t`,
      `CREATE FUNCTION trunk_health_create() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO trunk_health (trunk_id) VALUES (NEW.id);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER trunk_health_create AFTER INSERT ON trunk FOR EACH ROW EXECUTE FUNCTION trunk_health_create()`,
      `CREATE TRIGGER trunk_health_notify AFTER INSERT OR DELETE ON trunk_health
         FOR EACH ROW EXECUTE FUNCTION notify_config_change('trunk_id')`,
      `CREATE TRIGGER trunk_health_notify_update AFTER UPDATE ON trunk_health
         FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.reason IS DISTINCT FROM NEW.reason
                            OR OLD.registered IS DISTINCT FROM NEW.registered OR OLD.since IS DISTINCT FROM NEW.since)
         EXECUTE FUNCTION notify_config_change('trunk_id')`,
      `CREATE TRIGGER trunk_health_notify_truncate AFTER TRUNCATE ON trunk_health
         FOR EACH STATEMENT EXECUTE FUNCTION notify_config_truncate()`,

      `CREATE TABLE trunk_event (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES company (id) ON DELETE CASCADE,
        trunk_id uuid NOT NULL REFERENCES trunk (id) ON DELETE CASCADE,
        type text NOT NULL CHECK (type IN ('FAILOVER_STARTED', 'FAILOVER_ENDED', 'REGISTRATION_LOST', 'REGISTRATION_RESTORED')),
        reason text CHECK (reason IN ('NOT_REGISTERED', 'PROBES_FAILING', 'CALLS_FAILING')),
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE INDEX trunk_event_company_idx ON trunk_event (company_id, id)`,
      `CREATE INDEX trunk_event_trunk_idx ON trunk_event (trunk_id, id)`,
      `CREATE FUNCTION trunk_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('trunk_event', json_build_object('id', NEW.id::text, 'companyId', NEW.company_id, 'trunkId', NEW.trunk_id)::text);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER trunk_event_notify AFTER INSERT ON trunk_event FOR EACH ROW EXECUTE FUNCTION trunk_event_notify()`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `DROP TABLE IF EXISTS trunk_event`,
      `DROP FUNCTION IF EXISTS trunk_event_notify()`,
      `DROP TRIGGER IF EXISTS trunk_health_create ON trunk`,
      `DROP FUNCTION IF EXISTS trunk_health_create()`,
      `DROP TABLE IF EXISTS trunk_health`,
      `UPDATE call_record SET failover_reason = NULL WHERE failover_reason = 'PBX_DOWN'`,
      `ALTER TABLE call_record DROP CONSTRAINT call_record_failover_reason_check`,
      `ALTER TABLE call_record ADD CONSTRAINT call_record_failover_reason_check CHECK (failover_reason IN (
         'NOT_REGISTERED', 'NO_PROVISIONAL_RESPONSE', 'PBX_SERVER_ERROR', 'CONCURRENCY_LIMIT', 'PBX_UNREACHABLE'))`,
      `ALTER TABLE trunk DROP COLUMN health_check_enabled, DROP COLUMN health_check_interval_seconds,
         DROP COLUMN health_check_failures_to_down, DROP COLUMN health_check_successes_to_up`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }
}
