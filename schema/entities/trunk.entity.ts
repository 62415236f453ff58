import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { DigestAlgorithm } from '../../domain/digest';

@Entity({ name: 'trunk' })
export class Trunk {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'company_id', type: 'uuid' })
  companyId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The digest username; unique across the platform, case-insensitively. */
  @Column({ name: 'sip_username', type: 'text' })
  sipUsername!: string;

  /** The realm the HA1 hashes were computed for: a realm change invalidates them. */
  @Column({ name: 'digest_realm', type: 'text' })
  digestRealm!: string;

  @Column({ name: 'ha1_md5', type: 'text' })
  ha1Md5!: string;

  @Column({ name: 'ha1_sha256', type: 'text' })
  ha1Sha256!: string;

  /** The order the challenges are offered in. */
  @Column({ name: 'digest_algorithms', type: 'text', array: true })
  digestAlgorithms!: DigestAlgorithm[];

  @Column({ name: 'max_concurrent_calls', type: 'integer' })
  maxConcurrentCalls!: number;

  @Column({ name: 'failover_enabled', type: 'boolean' })
  failoverEnabled!: boolean;

  @Column({ name: 'failover_dial_plan_id', type: 'uuid', nullable: true })
  failoverDialPlanId!: string | null;

  @Column({ name: 'no_provisional_timeout_seconds', type: 'integer' })
  noProvisionalTimeoutSeconds!: number;

  @Column({ name: 'trigger_status_codes', type: 'integer', array: true })
  triggerStatusCodes!: number[];

  /** OPTIONS probing of the registered contacts (domain/trunk-health.ts has the defaults and limits). */
  @Column({ name: 'health_check_enabled', type: 'boolean' })
  healthCheckEnabled!: boolean;

  @Column({ name: 'health_check_interval_seconds', type: 'integer' })
  healthCheckIntervalSeconds!: number;

  @Column({ name: 'health_check_failures_to_down', type: 'integer' })
  healthCheckFailuresToDown!: number;

  @Column({ name: 'health_check_successes_to_up', type: 'integer' })
  healthCheckSuccessesToUp!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
