import { Field, ID, InputType, Int } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsOptional, Length, Matches, ValidateNested } from 'class-validator';
import { MAX_CALLER_NUMBERS, MAX_CALLER_PREFIXES } from '../../domain/caller-match';
import { DialPlanApp, ForwardCallerId, MAX_FLOW_STEPS } from '../../domain/flow/flow';
import { MAX_RING_GROUP_TARGETS, RingStrategy } from '../../domain/flow/apps/ring-group';
import { MAX_HOLIDAY_RANGES, MAX_TIME_WINDOW_RULES, WEEKDAYS } from '../../domain/time-window';
import { MAX_WEBHOOK_EXITS, RESERVED_WEBHOOK_EXITS } from '../../domain/webhook';
import { Weekday } from './dial-plan.type';

/*
 * List sizes are checked here, before the domain sees the input, with the domain's limits and
 * wording: an oversized list is refused as BAD_USER_INPUT without being walked. The domain checks
 * the same limits again (it also serves the worker and simulateCall).
 */

/** Exit names follow step ids (domain/webhook.ts). */
const MAX_EXIT_NAME_CHARS = 64;
/** The most exits a step can have: a webhook's declared ones plus success and failure, each once. */
const MAX_STEP_EXITS = MAX_WEBHOOK_EXITS + RESERVED_WEBHOOK_EXITS.length;

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
  @Field(() => [Weekday], { description: `1..${WEEKDAYS.length} weekdays, each once` })
  @ArrayMinSize(1, { message: 'name at least one weekday' })
  @ArrayMaxSize(WEEKDAYS.length, { message: `at most ${WEEKDAYS.length} weekdays` })
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
  @Field(() => [TimeRuleInput], { description: `1..${MAX_TIME_WINDOW_RULES} rules` })
  @ArrayMinSize(1, { message: 'name at least one rule' })
  @ArrayMaxSize(MAX_TIME_WINDOW_RULES, { message: `at most ${MAX_TIME_WINDOW_RULES} rules` })
  @ValidateNested({ each: true })
  rules!: TimeRuleInput[];

  @Field(() => [HolidayRangeInput], { nullable: true, description: `At most ${MAX_HOLIDAY_RANGES} ranges` })
  @IsOptional()
  @ArrayMaxSize(MAX_HOLIDAY_RANGES, { message: `at most ${MAX_HOLIDAY_RANGES} ranges` })
  holidays?: HolidayRangeInput[] | null;
}

@InputType({ description: 'At least one number or prefix, or anonymous: true' })
export class CallerConditionSettingsInput {
  @Field(() => [String], { nullable: true, description: `E.164 numbers, matched exactly (at most ${MAX_CALLER_NUMBERS})` })
  @IsOptional()
  @ArrayMaxSize(MAX_CALLER_NUMBERS, { message: `at most ${MAX_CALLER_NUMBERS} numbers` })
  numbers?: string[] | null;

  @Field(() => [String], { nullable: true, description: `+ and 1..15 digits, matched at the start of the E.164 caller number (at most ${MAX_CALLER_PREFIXES})` })
  @IsOptional()
  @ArrayMaxSize(MAX_CALLER_PREFIXES, { message: `at most ${MAX_CALLER_PREFIXES} prefixes` })
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

  @Field(() => [String], { nullable: true, description: `Exit names the answer may choose, besides success and failure (at most ${MAX_WEBHOOK_EXITS})` })
  @IsOptional()
  @ArrayMaxSize(MAX_WEBHOOK_EXITS, { message: `at most ${MAX_WEBHOOK_EXITS} exits besides ${RESERVED_WEBHOOK_EXITS.join(' and ')}` })
  @Length(1, MAX_EXIT_NAME_CHARS, { each: true, message: `each exit name is 1..${MAX_EXIT_NAME_CHARS} letters, digits, "_" or "-"` })
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
  @ArrayMinSize(1, { message: `1..${MAX_RING_GROUP_TARGETS} targets` })
  @ArrayMaxSize(MAX_RING_GROUP_TARGETS, { message: `1..${MAX_RING_GROUP_TARGETS} targets` })
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
  @ArrayMaxSize(MAX_STEP_EXITS, { message: `at most ${MAX_STEP_EXITS} exits, each once` })
  @ValidateNested({ each: true })
  exits?: FlowExitInput[] | null;
}

@InputType()
export class FlowInput {
  @Field(() => String)
  @Length(1, 64)
  entryStepId!: string;

  @Field(() => [FlowStepInput], { description: `1..${MAX_FLOW_STEPS} steps` })
  @ArrayMinSize(1, { message: 'a flow needs at least one step' })
  @ArrayMaxSize(MAX_FLOW_STEPS, { message: `at most ${MAX_FLOW_STEPS} steps` })
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
