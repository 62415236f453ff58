import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DialPlanApp } from '../../domain/flow/flow';
import { FailoverReason } from '../../schema/entities/call-record.entity';
import '../dial-plan/dial-plan.type';

export enum SimulatedDecision {
  DELIVER = 'DELIVER',
  FAILOVER = 'FAILOVER',
  REJECT = 'REJECT',
}

registerEnumType(SimulatedDecision, {
  name: 'SimulatedDecision',
  description: 'DELIVER: the PBX (or, for a number routed to a dial plan, the plan) takes the call; FAILOVER: the failover dial plan runs; REJECT: the caller gets `status`',
});

@ObjectType('SimulatedTrunk')
export class SimulatedTrunkType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;
}

@ObjectType('SimulatedStep')
export class SimulatedStepType {
  @Field(() => ID)
  dialPlanId!: string;

  @Field(() => String)
  stepId!: string;

  @Field(() => DialPlanApp)
  app!: DialPlanApp;

  @Field(() => String, { nullable: true, description: 'The exit the step would leave by; null where the path ends (HANGUP, WEBHOOK, GOTO_DIAL_PLAN moves on)' })
  exit!: string | null;
}

@ObjectType('SimulatedCall', { description: 'What a call would do under the current configuration; nothing is placed' })
export class SimulatedCallType {
  @Field(() => SimulatedTrunkType, { nullable: true, description: 'Null when the number is routed to a dial plan' })
  trunk!: SimulatedTrunkType | null;

  @Field(() => SimulatedDecision)
  decision!: SimulatedDecision;

  @Field(() => FailoverReason, { nullable: true })
  failoverReason!: FailoverReason | null;

  @Field(() => Int, { nullable: true, description: "DELIVER to the PBX and REJECT: the status the caller gets from the PBX or from us; FAILOVER after PBX_SERVER_ERROR: the PBX's status; otherwise null, the dial plan's path decides" })
  status!: number | null;

  @Field(() => [SimulatedStepType], { description: 'The path through the dial plan that runs, in order' })
  steps!: SimulatedStepType[];
}
