import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The live call count of a trunk on one SIP node, reported by that node about once a second.
 * Not configuration: it sends no notification. Rows older than a few seconds are stale (node gone).
 */
@Entity({ name: 'trunk_load' })
export class TrunkLoad {
  @PrimaryColumn({ name: 'trunk_id', type: 'uuid' })
  trunkId!: string;

  @PrimaryColumn({ name: 'node_id', type: 'text' })
  nodeId!: string;

  @Column({ name: 'active_calls', type: 'integer' })
  activeCalls!: number;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;
}
