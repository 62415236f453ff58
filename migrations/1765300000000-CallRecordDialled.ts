import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `did` on a call record means what it means everywhere else: the dialled number in E.164, or null
 * when the Request-URI user is not a number. What the carrier dialled, as received, moves to
 * `dialled`. Records written before keep their raw value in `dialled`; their `did` stays only where
 * it already was E.164 (the normalisation rules live in code, not in SQL).
 */
export class CallRecordDialled1765300000000 implements MigrationInterface {
  name = 'CallRecordDialled1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE call_record ADD COLUMN dialled text`);
    await queryRunner.query(`UPDATE call_record SET dialled = did`);
    await queryRunner.query(`ALTER TABLE call_record ALTER COLUMN dialled SET NOT NULL, ALTER COLUMN did DROP NOT NULL`);
    await queryRunner.query(`UPDATE call_record SET did = NULL WHERE did !~ '^\\+[1-9][0-9]{1,14}$'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE call_record SET did = dialled`);
    await queryRunner.query(`ALTER TABLE call_record ALTER COLUMN did SET NOT NULL, DROP COLUMN dialled`);
  }
}
