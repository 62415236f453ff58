import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** The operator's call limits. At most one row; none means the defaults (domain/call-limits.ts). */
@Entity({ name: 'call_limits' })
export class CallLimits {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** A call without a session timer is ended this long after its answer. */
  @Column({ name: 'max_call_length_seconds', type: 'integer' })
  maxCallLengthSeconds!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
