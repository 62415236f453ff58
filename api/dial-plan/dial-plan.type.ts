import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { DialPlanApp, ForwardCallerId } from '../../domain/flow/flow';
import { WEEKDAYS, type Weekday as DomainWeekday } from '../../domain/time-window';
import { RingStrategy } from '../../domain/flow/apps/ring-group';
import { Connection } from '../pagination';

registerEnumType(DialPlanApp, { name: 'DialPlanApp', description: 'The app a flow step runs' });
registerEnumType(RingStrategy, { name: 'RingStrategy', description: 'How a ring group rings its targets' });
registerEnumType(ForwardCallerId, {
  name: 'ForwardCallerId',
  description: 'Whom a forwarded call presents as its caller',
  valuesConfig: {
    KEEP_CALLER: { description: 'The caller, as the call came' },
    DIAL_PLAN_NUMBER: { description: "The dial plan's external number (P-Asserted-Identity and the From user)" },
  },
});

/** The weekdays of domain/time-window.ts as a GraphQL enum. */
export const Weekday = Object.fromEntries(WEEKDAYS.map((day) => [day, day])) as { readonly [D in DomainWeekday]: D };
export type Weekday = DomainWeekday;
registerEnumType(Weekday, { name: 'Weekday' });

@ObjectType('ForwardSettings')
export class ForwardSettingsType {
  @Field(() => String, { description: 'E.164 number (via the outbound gateway) or sip: URI' })
  target!: string;

  @Field(() => Int)
  ringTimeoutSeconds!: number;

  @Field(() => ForwardCallerId)
  callerId!: ForwardCallerId;
}

@ObjectType('HangupSettings')
export class HangupSettingsType {
  @Field(() => Int, { description: 'The SIP final status the caller gets' })
  status!: number;
}

@ObjectType('TimeRule')
export class TimeRuleType {
  @Field(() => [Weekday])
  weekdays!: Weekday[];

  @Field(() => String, { description: 'HH:MM, inclusive' })
  from!: string;

  @Field(() => String, { description: 'HH:MM, exclusive; earlier than from: past midnight' })
  to!: string;
}

@ObjectType('HolidayRange')
export class HolidayRangeType {
  @Field(() => String, { description: 'YYYY-MM-DD, inclusive' })
  from!: string;

  @Field(() => String, { description: 'YYYY-MM-DD, inclusive' })
  to!: string;
}

@ObjectType('TimeConditionSettings')
export class TimeConditionSettingsType {
  @Field(() => [TimeRuleType])
  rules!: TimeRuleType[];

  @Field(() => [HolidayRangeType])
  holidays!: HolidayRangeType[];
}

@ObjectType('CallerConditionSettings')
export class CallerConditionSettingsType {
  @Field(() => [String], { description: 'E.164' })
  numbers!: string[];

  @Field(() => [String])
  prefixes!: string[];

  @Field(() => Boolean)
  anonymous!: boolean;
}

@ObjectType('GotoDialPlanSettings')
export class GotoDialPlanSettingsType {
  @Field(() => ID)
  dialPlanId!: string;
}

@ObjectType('WebhookSettings', { description: 'The secret is write-only and never returned: signed says whether one is set' })
export class WebhookSettingsType {
  @Field(() => String)
  url!: string;

  @Field(() => Int)
  timeoutSeconds!: number;

  @Field(() => Boolean, { description: 'True when a secret is set: each request carries an X-Signature' })
  signed!: boolean;

  @Field(() => [String], { description: 'Declared exit names, besides success and failure' })
  exits!: string[];
}

@ObjectType('RingGroupTarget')
export class RingGroupTargetType {
  @Field(() => String, { description: 'E.164 number, sip: URI, or trunk:<trunk id>' })
  target!: string;

  @Field(() => Int, { nullable: true, description: 'Unset: 20 in a SEQUENTIAL group, the group time in a PARALLEL one' })
  ringTimeoutSeconds!: number | null;
}

@ObjectType('RingGroupSettings')
export class RingGroupSettingsType {
  @Field(() => RingStrategy)
  strategy!: RingStrategy;

  @Field(() => [RingGroupTargetType])
  targets!: RingGroupTargetType[];

  @Field(() => Int, { description: 'Bounds a PARALLEL group' })
  ringTimeoutSeconds!: number;
}

@ObjectType('FlowExit')
export class FlowExitType {
  @Field(() => String, { description: 'The exit name, e.g. noAnswer' })
  on!: string;

  @Field(() => String)
  stepId!: string;
}

@ObjectType('FlowStep')
export class FlowStepType {
  @Field(() => String)
  id!: string;

  @Field(() => DialPlanApp)
  app!: DialPlanApp;

  @Field(() => ForwardSettingsType, { nullable: true, description: 'Set on FORWARD steps' })
  forward?: ForwardSettingsType;

  @Field(() => HangupSettingsType, { nullable: true, description: 'Set on HANGUP steps' })
  hangup?: HangupSettingsType;

  @Field(() => TimeConditionSettingsType, { nullable: true, description: 'Set on TIME_CONDITION steps' })
  timeCondition?: TimeConditionSettingsType;

  @Field(() => CallerConditionSettingsType, { nullable: true, description: 'Set on CALLER_CONDITION steps' })
  callerCondition?: CallerConditionSettingsType;

  @Field(() => GotoDialPlanSettingsType, { nullable: true, description: 'Set on GOTO_DIAL_PLAN steps' })
  gotoDialPlan?: GotoDialPlanSettingsType;
  @Field(() => WebhookSettingsType, { nullable: true, description: 'Set on WEBHOOK steps' })
  webhook?: WebhookSettingsType;

  @Field(() => RingGroupSettingsType, { nullable: true, description: 'Set on RING_GROUP steps' })
  ringGroup?: RingGroupSettingsType;

  @Field(() => [FlowExitType])
  exits!: FlowExitType[];
}

@ObjectType('Flow')
export class FlowType {
  @Field(() => String)
  entryStepId!: string;

  @Field(() => [FlowStepType])
  steps!: FlowStepType[];
}

@ObjectType('DialPlan')
export class DialPlanType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  companyId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'Unique within the company' })
  internalNumber!: string;

  @Field(() => String, { nullable: true, description: 'E.164, unique across the platform' })
  externalNumber!: string | null;

  @Field(() => FlowType)
  flow!: FlowType;

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => DateTimeResolver)
  updatedAt!: Date;
}

export const DialPlanConnection = Connection('DialPlan', DialPlanType);
