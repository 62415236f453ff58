import { Field, ID, Int, ObjectType } from 'type-graphql';
import { TrunkHealthState } from '../../domain/trunk-health';
import { TrunkHealthType } from './trunk-health.type';
import { RegistrationType } from './trunk.type';

/** What a live view of a trunk shows: the `trunkStatus` subscription sends it first and on every change. */
@ObjectType('TrunkStatus', { description: 'A trunk now: registration, health, live calls, and whether its calls fail over' })
export class TrunkStatusType {
  @Field(() => ID)
  trunkId!: string;

  @Field(() => Boolean, { description: 'The PBX has an unexpired registration binding' })
  registered!: boolean;

  @Field(() => RegistrationType, { nullable: true, description: 'Null when the PBX is not registered' })
  registration!: RegistrationType | null;

  @Field(() => TrunkHealthType)
  health!: TrunkHealthType;

  @Field(() => Int, { description: 'Calls ringing or up on the PBX now, across SIP nodes' })
  activeCalls!: number;

  @Field(() => Boolean, { description: 'New calls fail over (or are refused) now: the PBX is not registered, or the trunk is DOWN' })
  inFailover!: boolean;
}

export function trunkStatusOf(trunkId: string, registration: RegistrationType | null, health: TrunkHealthType, activeCalls: number): TrunkStatusType {
  const registered = registration !== null;
  return Object.assign(new TrunkStatusType(), {
    trunkId,
    registered,
    registration,
    health,
    activeCalls,
    inFailover: !registered || health.state === TrunkHealthState.DOWN,
  });
}
