import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A number (DID) on the platform, in E.164. It routes to exactly one trunk (an inbound number)
 * or one dial plan (its external number); the primary key makes every number unique platform-wide.
 */
@Entity({ name: 'did' })
export class Did {
  @PrimaryColumn({ type: 'text' })
  number!: string;

  @Column({ name: 'trunk_id', type: 'uuid', nullable: true })
  trunkId!: string | null;

  @Column({ name: 'dial_plan_id', type: 'uuid', nullable: true })
  dialPlanId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
