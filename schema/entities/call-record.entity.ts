import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export enum CallOutcome {
  DELIVERED = 'DELIVERED',
  FAILED_OVER = 'FAILED_OVER',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
}

/** Why a call was rerouted to the failover dial plan (DESIGN section 1). */
export enum FailoverReason {
  NOT_REGISTERED = 'NOT_REGISTERED',
  NO_PROVISIONAL_RESPONSE = 'NO_PROVISIONAL_RESPONSE',
  PBX_SERVER_ERROR = 'PBX_SERVER_ERROR',
  CONCURRENCY_LIMIT = 'CONCURRENCY_LIMIT',
  PBX_UNREACHABLE = 'PBX_UNREACHABLE',
}

/** One attempt to reach a target (the PBX, a forward target), with its final status and timings. */
export interface CallAttempt {
  readonly target: string;
  /** Null when no final response came (timeout, unreachable, cancelled). */
  readonly status: number | null;
  readonly startedAt: string;
  readonly firstResponseAt: string | null;
  readonly endedAt: string | null;
}

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

  @Column({ type: 'text' })
  did!: string;

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
}
