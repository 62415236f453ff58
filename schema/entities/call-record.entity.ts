import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CallOutcome, FailoverReason, type CallAttempt, type CallStep } from '../../domain/call';

export { CallOutcome, FailoverReason, type CallAttempt, type CallStep };

/** One record per inbound call, written by the SIP role in batches. */
@Entity({ name: 'call_record' })
export class CallRecord {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'call_id', type: 'text' })
  callId!: string;

  /** Kept even when the trunk is deleted, so the company still sees its history. */
  @Column({ name: 'company_id', type: 'uuid', nullable: true })
  companyId!: string | null;

  @Column({ name: 'trunk_id', type: 'uuid', nullable: true })
  trunkId!: string | null;

  /** The dialled number in E.164; null when the Request-URI user is not a number. */
  @Column({ type: 'text', nullable: true })
  did!: string | null;

  /** The Request-URI user as the carrier sent it. */
  @Column({ type: 'text' })
  dialled!: string;

  @Column({ type: 'text', nullable: true })
  caller!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ type: 'text' })
  outcome!: CallOutcome;

  @Column({ name: 'failover_reason', type: 'text', nullable: true })
  failoverReason!: FailoverReason | null;

  @Column({ name: 'final_status', type: 'integer', nullable: true })
  finalStatus!: number | null;

  @Column({ type: 'jsonb' })
  attempts!: CallAttempt[];

  @Column({ type: 'text' })
  worker!: string;

  /** The dial plan steps taken, in order. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  steps!: CallStep[];
}
