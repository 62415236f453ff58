import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * FORWARD steps gained `callerId`: flows stored before say KEEP_CALLER explicitly, so every
 * stored FORWARD step has the field the API answers with. The workers read a missing one the same way.
 */
export class ForwardCallerId1765200000001 implements MigrationInterface {
  name = 'ForwardCallerId1765200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE dial_plan
          SET flow = jsonb_set(flow, '{steps}', (
                SELECT jsonb_agg(
                         CASE WHEN step ->> 'app' = 'FORWARD' AND jsonb_typeof(step -> 'forward') = 'object' AND NOT (step -> 'forward' ? 'callerId')
                              THEN jsonb_set(step, '{forward,callerId}', '"KEEP_CALLER"')
                              ELSE step END
                         ORDER BY position)
                  FROM jsonb_array_elements(flow -> 'steps') WITH ORDINALITY AS s(step, position)))
        WHERE jsonb_typeof(flow -> 'steps') = 'array' AND jsonb_array_length(flow -> 'steps') > 0
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(flow -> 'steps') AS s(step)
                       WHERE step ->> 'app' = 'FORWARD' AND NOT (step -> 'forward' ? 'callerId'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE dial_plan
          SET flow = jsonb_set(flow, '{steps}', (
                SELECT jsonb_agg(CASE WHEN step ->> 'app' = 'FORWARD' THEN step #- '{forward,callerId}' ELSE step END ORDER BY position)
                  FROM jsonb_array_elements(flow -> 'steps') WITH ORDINALITY AS s(step, position)))
        WHERE jsonb_typeof(flow -> 'steps') = 'array' AND jsonb_array_length(flow -> 'steps') > 0`,
    );
  }
}
