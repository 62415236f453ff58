import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { TrunkDownReason, TrunkEventType } from '../../domain/trunk-health';
import '../trunk/trunk-health.type';
import { Connection } from '../pagination';

registerEnumType(TrunkEventType, {
  name: 'TrunkEventType',
  description: 'A transition of a trunk: calls start or stop failing over, its registration goes or comes back',
});

@ObjectType('TrunkEvent', { description: 'One transition of a trunk, not one per call' })
export class TrunkEventObject {
  @Field(() => ID, { description: 'Increasing in the order events happen; also the cursor of the event' })
  id!: string;

  @Field(() => ID)
  trunkId!: string;

  @Field(() => ID)
  companyId!: string;

  @Field(() => TrunkEventType)
  type!: TrunkEventType;

  @Field(() => TrunkDownReason, { nullable: true, description: 'Why calls fail over; set on FAILOVER_STARTED only' })
  reason!: TrunkDownReason | null;

  @Field(() => DateTimeResolver)
  at!: Date;
}

export const TrunkEventConnection = Connection('TrunkEvent', TrunkEventObject);
