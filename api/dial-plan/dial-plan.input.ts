import { Field, ID, InputType, Int } from 'type-graphql';
import { ArrayMaxSize, IsOptional, Length, Matches, ValidateNested } from 'class-validator';
import { DialPlanApp, ForwardCallerId, MAX_FLOW_STEPS } from '../../domain/flow/flow';
import { MAX_RING_GROUP_TARGETS, RingStrategy } from '../../domain/flow/apps/ring-group';
import { MAX_WEBHOOK_EXITS } from '../../domain/webhook';
import { Weekday } from './dial-plan.type';

@InputType()
export class ForwardSettingsInput {
  @Field(() => String, { description: 'E.164 number or sip: URI' })
  @Length(1, 256)
  target!: string;

  @Field(() => Int, { nullable: true, description: '5..300, default 30' })
  ringTimeoutSeconds?: number | null;

  @Field(() => ForwardCallerId, { nullable: true, description: 'Default KEEP_CALLER; DIAL_PLAN_NUMBER needs the plan to have an external number' })
  callerId?: ForwardCallerId | null;
}

@InputType()
export class HangupSettingsInput {
  @Field(() => Int, { description: '400..699' })
  status!: number;
}

@InputType({ description: 'Weekly hours: from inclusive, to exclusive; to earlier than from runs past midnight' })
export class TimeRuleInput {
  @Field(() => [Weekday])
  weekdays!: Weekday[];

  @Field(() => String, { description: 'HH:MM, 00:00..23:59' })
  from!: string;

  @Field(() => String, { description: 'HH:MM, 00:01..24:00 (00:00 means 24:00)' })
  to!: string;
}

@InputType({ description: 'Local dates YYYY-MM-DD, both ends inclusive' })
export class HolidayRangeInput {
  @Field(() => String)
  from!: string;

  @Field(() => String)
  to!: string;
}

@InputType({ description: "Read in the company's time zone" })
export class TimeConditionSettingsInput {
  @Field(() => [TimeRuleInput])
  rules!: TimeRuleInput[];

  @Field(() => [HolidayRangeInput], { nullable: true })
  holidays?: HolidayRangeInput[] | null;
}

@InputType({ description: 'At least one number or prefix, or anonymous: true' })
export class CallerConditionSettingsInput {
  @Field(() => [String], { nullable: true, description: 'E.164 numbers, matched exactly' })
  numbers?: string[] | null;

  @Field(() => [String], { nullable: true, description: '+ and 1..15 digits, matched at the start of the E.164 caller number' })
  prefixes?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'Match callers without a number (anonymous, withheld, Privacy)' })
  anonymous?: boolean | null;
}

@InputType()
export class GotoDialPlanSettingsInput {
  @Field(() => ID, { description: 'Another dial plan of the same company; no cycles' })
  dialPlanId!: string;
}

@InputType()
export class WebhookSettingsInput {
  @Field(() => String, { description: 'http or https; an IP-literal host must be a public address or in webhookAllowedNetworks' })
  @Length(1, 2048)
  url!: string;

  @Field(() => Int, { nullable: true, description: '1..10, default 3' })
  timeoutSeconds?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Write-only, 16..256 characters: signs each request (X-Signature). Left out on update: the same step keeps its secret; null: no signature',
  })
  secret?: string | null;

  @Field(() => [String], { nullable: true, description: 'Exit names the answer may choose, besides success and failure (at most 10)' })
  @IsOptional()
  @ArrayMaxSize(MAX_WEBHOOK_EXITS + 1)
  exits?: string[] | null;
}

@InputType()
export class RingGroupTargetInput {
  @Field(() => String, { description: 'E.164 number, sip: URI, or trunk:<trunk id> (another trunk of the company, at its registration)' })
  @Length(1, 256)
  target!: string;

  @Field(() => Int, { nullable: true, description: '5..300; unset: 20 in a SEQUENTIAL group, the group time in a PARALLEL one (which bounds it)' })
  ringTimeoutSeconds?: number | null;
}

@InputType()
export class RingGroupSettingsInput {
  @Field(() => RingStrategy)
  strategy!: RingStrategy;

  @Field(() => [RingGroupTargetInput], { description: `1..${MAX_RING_GROUP_TARGETS} targets` })
  @ArrayMaxSize(MAX_RING_GROUP_TARGETS + 1)
  @ValidateNested({ each: true })
  targets!: RingGroupTargetInput[];

  @Field(() => Int, { nullable: true, description: '5..300, default 30: bounds a PARALLEL group' })
  ringTimeoutSeconds?: number | null;
}

@InputType()
export class FlowExitInput {
  @Field(() => String)
  @Length(1, 64)
  on!: string;

  @Field(() => String)
  @Length(1, 64)
  stepId!: string;
}

@InputType({ description: 'One app, the settings object named after it, and its exits' })
export class FlowStepInput {
  @Field(() => String)
  @Length(1, 64)
  id!: string;

  @Field(() => DialPlanApp)
  app!: DialPlanApp;

  @Field(() => ForwardSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  forward?: ForwardSettingsInput | null;

  @Field(() => HangupSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  hangup?: HangupSettingsInput | null;

  @Field(() => TimeConditionSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  timeCondition?: TimeConditionSettingsInput | null;

  @Field(() => CallerConditionSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  callerCondition?: CallerConditionSettingsInput | null;

  @Field(() => GotoDialPlanSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  gotoDialPlan?: GotoDialPlanSettingsInput | null;
  @Field(() => WebhookSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  webhook?: WebhookSettingsInput | null;

  @Field(() => RingGroupSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  ringGroup?: RingGroupSettingsInput | null;

  @Field(() => [FlowExitInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  exits?: FlowExitInput[] | null;
}

@InputType()
export class FlowInput {
  @Field(() => String)
  @Length(1, 64)
  entryStepId!: string;

  @Field(() => [FlowStepInput])
  @ArrayMaxSize(MAX_FLOW_STEPS)
  @ValidateNested({ each: true })
  steps!: FlowStepInput[];
}

@InputType()
export class CreateDialPlanInput {
  @Field(() => ID)
  companyId!: string;

  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => String, { description: '1..15 digits, unique within the company' })
  @Matches(/^[0-9]{1,15}$/, { message: 'internalNumber must be 1..15 digits' })
  internalNumber!: string;

  @Field(() => String, { nullable: true, description: 'E.164, unique across the platform' })
  externalNumber?: string | null;

  @Field(() => FlowInput)
  @ValidateNested()
  flow!: FlowInput;
}

@InputType({ description: 'Fields left out keep their value; externalNumber null removes it' })
export class UpdateDialPlanInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(/^[0-9]{1,15}$/, { message: 'internalNumber must be 1..15 digits' })
  internalNumber?: string | null;

  @Field(() => String, { nullable: true })
  externalNumber?: string | null;

  @Field(() => FlowInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  flow?: FlowInput | null;
}
