import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { DigestAlgorithm } from '../../domain/digest';
import { DialPlanType } from '../dial-plan/dial-plan.type';
import { Connection } from '../pagination';
import { HealthCheckType, TrunkHealthType } from './trunk-health.type';

registerEnumType(DigestAlgorithm, {
  name: 'DigestAlgorithm',
  description: 'Digest algorithms for REGISTER authentication (RFC 7616, RFC 8760)',
});

@ObjectType('FailoverSettings')
export class FailoverSettingsType {
  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DialPlanType, { nullable: true, description: 'Runs when a trigger holds' })
  dialPlan!: DialPlanType | null;

  @Field(() => Int, { description: 'Fail over when the PBX sends no 1xx within this many seconds' })
  noProvisionalTimeoutSeconds!: number;

  @Field(() => [Int], { description: 'PBX final statuses (5xx) that fail over' })
  triggerStatusCodes!: number[];
}

@ObjectType('Registration', { description: "The PBX's current registration binding" })
export class RegistrationType {
  @Field(() => String, { description: 'The Contact the PBX registered' })
  contact!: string;

  @Field(() => String, { description: 'address:port the REGISTER came from; calls are sent there' })
  sourceAddress!: string;

  @Field(() => DateTimeResolver)
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;
}

/** A trunk as clients see it: never the password nor its hashes. */
@ObjectType('Trunk')
export class TrunkType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  companyId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'Digest username of the PBX; unique across the platform' })
  sipUsername!: string;

  @Field(() => [String], { description: 'Numbers (E.164) delivered to this trunk' })
  inboundNumbers!: string[];

  @Field(() => Int)
  maxConcurrentCalls!: number;

  @Field(() => [DigestAlgorithm], { description: 'Challenges offered, in this order' })
  digestAlgorithms!: DigestAlgorithm[];

  @Field(() => FailoverSettingsType)
  failover!: FailoverSettingsType;

  @Field(() => HealthCheckType)
  healthCheck!: HealthCheckType;

  @Field(() => TrunkHealthType)
  health!: TrunkHealthType;

  @Field(() => RegistrationType, { nullable: true, description: 'Null when the PBX is not registered' })
  registration!: RegistrationType | null;

  @Field(() => Int, { description: 'Calls ringing or up on the PBX now, across SIP nodes' })
  activeCalls!: number;

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => DateTimeResolver)
  updatedAt!: Date;
}

export const TrunkConnection = Connection('Trunk', TrunkType);
