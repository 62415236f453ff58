import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** An operator-level carrier: calls are admitted only from its source networks. */
@Entity({ name: 'carrier' })
export class Carrier {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Canonical CIDR texts (`198.51.100.0/24`, `2001:db8::/32`). */
  @Column({ name: 'source_cidrs', type: 'text', array: true })
  sourceCidrs!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
