import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dial plan steps a call went through, on its record: a JSON array of
 * `{dialPlanId, stepId, app, exit, at}` in the order taken. Records written before have none.
 */
export class CallRecordSteps1765200000000 implements MigrationInterface {
  name = 'CallRecordSteps1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE call_record
         ADD COLUMN steps jsonb NOT NULL DEFAULT '[]',
         ADD CONSTRAINT call_record_steps_check CHECK (jsonb_typeof(steps) = 'array')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE call_record DROP COLUMN IF EXISTS steps`);
  }
}
