import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TrunkDownReason, TrunkHealthState } from '../../domain/trunk-health';

/**
 * A trunk's shared health (domain/trunk-health.ts): one row per trunk, made by a trigger when the
 * trunk is inserted, updated by the SIP role under a row lock as evidence arrives.
 */
@Entity({ name: 'trunk_health' })
export class TrunkHealth {
  @PrimaryColumn({ name: 'trunk_id', type: 'uuid' })
  trunkId!: string;

  @Column({ type: 'text' })
  state!: TrunkHealthState;

  /** Set exactly when `DOWN`. */
  @Column({ type: 'text', nullable: true })
  reason!: TrunkDownReason | null;

  /** Whether the trunk has an unexpired registration binding. */
  @Column({ type: 'boolean' })
  registered!: boolean;

  /** Consecutive failures and successes; one resets the other. */
  @Column({ type: 'integer' })
  failures!: number;

  @Column({ type: 'integer' })
  successes!: number;

  /** The last change of state or reason. */
  @Column({ type: 'timestamptz' })
  since!: Date;

  @Column({ name: 'last_probe_at', type: 'timestamptz', nullable: true })
  lastProbeAt!: Date | null;

  @Column({ name: 'last_probe_rtt_ms', type: 'integer', nullable: true })
  lastProbeRttMs!: number | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
