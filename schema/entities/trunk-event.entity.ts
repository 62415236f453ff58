import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { TrunkDownReason, TrunkEventType } from '../../domain/trunk-health';

/**
 * One transition of a trunk's health or registration. Ids are handed out under a
 * transaction-level advisory lock, so they commit in order: a reader that continues after an id
 * misses none.
 */
@Entity({ name: 'trunk_event' })
export class TrunkEvent {
  /** A bigint identity, read as a string (it can pass 2^53). */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'company_id', type: 'uuid' })
  companyId!: string;

  @Column({ name: 'trunk_id', type: 'uuid' })
  trunkId!: string;

  @Column({ type: 'text' })
  type!: TrunkEventType;

  /** The reason of a `FAILOVER_STARTED`; null for the other types. */
  @Column({ type: 'text', nullable: true })
  reason!: TrunkDownReason | null;

  @Column({ type: 'timestamptz' })
  at!: Date;
}
