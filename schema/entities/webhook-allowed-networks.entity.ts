import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** The operator's networks a webhook may reach besides public addresses. At most one row. */
@Entity({ name: 'webhook_allowed_networks' })
export class WebhookAllowedNetworks {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Canonical CIDRs (domain/cidr.ts). */
  @Column({ type: 'text', array: true })
  cidrs!: string[];

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
