import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { DialPlanApp } from '../../domain/flow/flow';
import { CallOutcome, FailoverReason } from '../../schema/entities/call-record.entity';
import '../dial-plan/dial-plan.type';
import { Connection } from '../pagination';

registerEnumType(CallOutcome, { name: 'CallOutcome' });
registerEnumType(FailoverReason, { name: 'FailoverReason', description: 'Why a call was rerouted to the failover dial plan' });

@ObjectType('CallAttempt', { description: 'One try to reach a target (the PBX, a forward target)' })
export class CallAttemptType {
  @Field(() => String)
  target!: string;

  @Field(() => Int, { nullable: true, description: 'Final SIP status; null when none came (timeout, unreachable)' })
  status!: number | null;

  @Field(() => DateTimeResolver)
  startedAt!: Date;

  @Field(() => DateTimeResolver, { nullable: true })
  firstResponseAt!: Date | null;

  @Field(() => DateTimeResolver, { nullable: true })
  endedAt!: Date | null;
}

@ObjectType('CallStep', { description: 'One dial plan step a call went through' })
export class CallStepType {
  @Field(() => ID, { description: 'The dial plan the step belongs to' })
  dialPlanId!: string;

  @Field(() => String)
  stepId!: string;

  @Field(() => DialPlanApp)
  app!: DialPlanApp;

  @Field(() => String, { nullable: true, description: 'The exit it left by; null for the step the call ended in' })
  exit!: string | null;

  @Field(() => DateTimeResolver, { description: 'When the call entered the step' })
  at!: Date;
}

@ObjectType('CallTrunk', { description: 'The trunk a call was for' })
export class CallTrunkType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;
}

@ObjectType('CallRecord')
export class CallRecordType {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'The SIP Call-ID of the inbound call' })
  callId!: string;

  @Field(() => CallTrunkType, { nullable: true, description: 'Null when unknown or since deleted' })
  trunk!: CallTrunkType | null;

  @Field(() => String, { nullable: true, description: 'The dialled number in E.164; null when the Request-URI user is not a number' })
  did!: string | null;

  @Field(() => String, { description: 'The Request-URI user as the carrier sent it (escaped where it held control characters)' })
  dialled!: string;

  @Field(() => String, { nullable: true })
  caller!: string | null;

  @Field(() => DateTimeResolver)
  startedAt!: Date;

  @Field(() => DateTimeResolver, { nullable: true })
  endedAt!: Date | null;

  @Field(() => CallOutcome)
  outcome!: CallOutcome;

  @Field(() => FailoverReason, { nullable: true })
  failoverReason!: FailoverReason | null;

  @Field(() => Int, { nullable: true })
  finalStatus!: number | null;

  @Field(() => [CallAttemptType])
  attempts!: CallAttemptType[];

  @Field(() => [CallStepType], { description: 'The dial plan steps taken, in order; empty when no plan ran' })
  steps!: CallStepType[];

  @Field(() => String, { description: 'The SIP node and worker that handled the call' })
  worker!: string;
}

export const CallRecordConnection = Connection('CallRecord', CallRecordType);
