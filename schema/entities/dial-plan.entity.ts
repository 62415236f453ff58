import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Flow } from '../../domain/flow/flow';

@Entity({ name: 'dial_plan' })
export class DialPlan {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'company_id', type: 'uuid' })
  companyId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Unique within the company. */
  @Column({ name: 'internal_number', type: 'text' })
  internalNumber!: string;

  @Column({ type: 'jsonb' })
  flow!: Flow;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
