import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook endpoints for trunk events, and their durable delivery queue.
 *
 * - `webhook_endpoint`: a company's URL, the event types it wants, and its signing secret. The
 *   secret is kept as issued: HMAC signing needs the key itself (a hash cannot sign), and the
 *   database is already where the dial plan WEBHOOK app keeps its secrets. It is returned once,
 *   at creation, and never read back through the API or logged. A deleted endpoint keeps its row
 *   (`deleted_at`) so its deliveries stay readable in the database; it gets no new ones.
 * - `webhook_delivery`: one row per endpoint per event, made by a trigger on `trunk_event` in the
 *   inserting transaction, so an event committed is an event queued. A dispatcher claims due rows
 *   with FOR UPDATE SKIP LOCKED and a lease (`leased_until`, `leased_by`): a node that dies while
 *   holding one loses it when the lease runs out, and another node delivers it.
 * - `webhook_attempt`: one row per HTTP attempt: its instant, status or error, and latency.
 */
export class WebhookEndpoints1765400000002 implements MigrationInterface {
  name = 'WebhookEndpoints1765400000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE webhook_endpoint (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES company (id) ON DELETE CASCADE,
        url text NOT NULL,
        events text[] NOT NULL CONSTRAINT webhook_endpoint_events_check CHECK (
          cardinality(events) > 0
          AND events <@ ARRAY['FAILOVER_STARTED', 'FAILOVER_ENDED', 'REGISTRATION_LOST', 'REGISTRATION_RESTORED']::text[]),
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        deleted_at timestamptz
      )`,
      `CREATE INDEX webhook_endpoint_company_idx ON webhook_endpoint (company_id) WHERE deleted_at IS NULL`,

      `CREATE TABLE webhook_delivery (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
        event_id bigint NOT NULL REFERENCES trunk_event (id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'PENDING' CONSTRAINT webhook_delivery_status_check CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        give_up_at timestamptz NOT NULL,
        leased_until timestamptz,
        leased_by text,
        last_status integer,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT webhook_delivery_once UNIQUE (endpoint_id, event_id)
      )`,
      `CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'PENDING'`,
      `CREATE INDEX webhook_delivery_endpoint_idx ON webhook_delivery (endpoint_id, created_at, id)`,

      `CREATE TABLE webhook_attempt (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
        at timestamptz NOT NULL,
        http_status integer,
        error text,
        latency_ms integer NOT NULL CHECK (latency_ms >= 0),
        CONSTRAINT webhook_attempt_has_result CHECK (http_status IS NOT NULL OR error IS NOT NULL)
      )`,
      `CREATE INDEX webhook_attempt_delivery_idx ON webhook_attempt (delivery_id, at)`,

      // Retried for 24 hours after the event happened, not after it was queued.
      `CREATE FUNCTION webhook_delivery_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_delivery (endpoint_id, event_id, give_up_at)
          SELECT e.id, NEW.id, NEW.at + interval '24 hours'
            FROM webhook_endpoint e
           WHERE e.company_id = NEW.company_id AND e.deleted_at IS NULL AND NEW.type = ANY (e.events);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER webhook_delivery_enqueue AFTER INSERT ON trunk_event FOR EACH ROW EXECUTE FUNCTION webhook_delivery_enqueue()`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const statements = [
      `DROP TRIGGER IF EXISTS webhook_delivery_enqueue ON trunk_event`,
      `DROP FUNCTION IF EXISTS webhook_delivery_enqueue()`,
      `DROP TABLE IF EXISTS webhook_attempt`,
      `DROP TABLE IF EXISTS webhook_delivery`,
      `DROP TABLE IF EXISTS webhook_endpoint`,
    ];
    for (const statement of statements) await queryRunner.query(statement);
  }
}
