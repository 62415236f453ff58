import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A registration binding of a trunk's PBX, written by the SIP role's registrar. */
@Entity({ name: 'registration' })
export class Registration {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'trunk_id', type: 'uuid' })
  trunkId!: string;

  /** The Contact URI the PBX registered. */
  @Column({ type: 'text' })
  contact!: string;

  /** The address and port the REGISTER came from: calls are sent there (NAT). */
  @Column({ name: 'source_address', type: 'text' })
  sourceAddress!: string;

  @Column({ name: 'source_port', type: 'integer' })
  sourcePort!: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
