import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Where a company's trunk events are POSTed. The secret signs them; it is shown once, at creation. */
@Entity({ name: 'webhook_endpoint' })
export class WebhookEndpoint {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'company_id', type: 'uuid' })
  companyId!: string;

  /** http or https, canonical (`URL.href`). */
  @Column({ type: 'text' })
  url!: string;

  /** TrunkEventType values. */
  @Column({ type: 'text', array: true })
  events!: string[];

  @Column({ type: 'text', select: false })
  secret!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}
