import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { TrunkDownReason, TrunkHealthState } from '../../domain/trunk-health';

registerEnumType(TrunkHealthState, {
  name: 'TrunkHealthState',
  description: 'UP, DOWN, or UNKNOWN before the first probe or call outcome',
});
registerEnumType(TrunkDownReason, {
  name: 'TrunkDownReason',
  description: 'Why a trunk is DOWN: its PBX is not registered, its OPTIONS probes fail, or its calls fail',
});

@ObjectType('HealthCheck', { description: "OPTIONS probing of the trunk's registered contacts" })
export class HealthCheckType {
  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Int, { description: 'Seconds between probes of each contact' })
  intervalSeconds!: number;

  @Field(() => Int, { description: 'Failures in a row (probes or calls) that make the trunk DOWN' })
  failuresToDown!: number;

  @Field(() => Int, { description: 'Successes in a row (probes or calls) that bring a DOWN trunk back UP' })
  successesToUp!: number;
}

@ObjectType('TrunkHealth', { description: 'What the SIP nodes know of the trunk now; DOWN for an unanswering PBX fails calls over at once' })
export class TrunkHealthType {
  @Field(() => TrunkHealthState)
  state!: TrunkHealthState;

  @Field(() => TrunkDownReason, { nullable: true, description: 'Set exactly when DOWN' })
  reason!: TrunkDownReason | null;

  @Field(() => DateTimeResolver, { description: 'When the state or reason last changed' })
  since!: Date;

  @Field(() => DateTimeResolver, { nullable: true, description: 'The last OPTIONS probe; null when none was sent' })
  lastProbeAt!: Date | null;

  @Field(() => Int, { nullable: true, description: 'Round trip of the last probe that was answered, in milliseconds' })
  lastProbeRttMs!: number | null;
}
