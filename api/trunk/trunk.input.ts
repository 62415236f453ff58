import { Field, ID, InputType, Int } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsOptional, Length, Max, Min, ValidateNested } from 'class-validator';
import { DigestAlgorithm } from '../../domain/digest';
import { HEALTH_CHECK_DEFAULTS, HEALTH_CHECK_LIMITS } from '../../domain/trunk-health';

export const SIP_PASSWORD_LENGTH = { min: 12, max: 128 } as const;
export const MAX_INBOUND_NUMBERS = 1000;

@InputType({ description: 'Fields left out keep their value (or take the default on create)' })
export class FailoverSettingsInput {
  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => ID, { nullable: true, description: 'A dial plan of the same company; null removes it' })
  dialPlanId?: string | null;

  @Field(() => Int, { nullable: true, description: '1..60, default 15' })
  @IsOptional()
  @Min(1)
  @Max(60)
  noProvisionalTimeoutSeconds?: number | null;

  @Field(() => [Int], { nullable: true, description: 'Each 500..599; default all of them' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Min(500, { each: true })
  @Max(599, { each: true })
  triggerStatusCodes?: number[] | null;
}

const { intervalSeconds: INTERVAL, failuresToDown: FAILURES, successesToUp: SUCCESSES } = HEALTH_CHECK_LIMITS;

@InputType({ description: 'Fields left out keep their value (or take the default on create)' })
export class HealthCheckInput {
  @Field(() => Boolean, { nullable: true, description: `Probe the registered contacts with OPTIONS; default ${HEALTH_CHECK_DEFAULTS.enabled}` })
  enabled?: boolean | null;

  @Field(() => Int, { nullable: true, description: `${INTERVAL.min}..${INTERVAL.max}, default ${HEALTH_CHECK_DEFAULTS.intervalSeconds}` })
  @IsOptional()
  @Min(INTERVAL.min)
  @Max(INTERVAL.max)
  intervalSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: `${FAILURES.min}..${FAILURES.max}, default ${HEALTH_CHECK_DEFAULTS.failuresToDown}` })
  @IsOptional()
  @Min(FAILURES.min)
  @Max(FAILURES.max)
  failuresToDown?: number | null;

  @Field(() => Int, { nullable: true, description: `${SUCCESSES.min}..${SUCCESSES.max}, default ${HEALTH_CHECK_DEFAULTS.successesToUp}` })
  @IsOptional()
  @Min(SUCCESSES.min)
  @Max(SUCCESSES.max)
  successesToUp?: number | null;
}

@InputType()
export class CreateTrunkInput {
  @Field(() => ID)
  companyId!: string;

  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => String, { description: 'Digest username: 3..64 of A-Z a-z 0-9 . _ -' })
  sipUsername!: string;

  @Field(() => String, { description: `${SIP_PASSWORD_LENGTH.min}..${SIP_PASSWORD_LENGTH.max} characters; only its digest hashes are kept` })
  @Length(SIP_PASSWORD_LENGTH.min, SIP_PASSWORD_LENGTH.max)
  sipPassword!: string;

  @Field(() => [String], { description: 'E.164 numbers, unique across the platform' })
  @ArrayMaxSize(MAX_INBOUND_NUMBERS)
  inboundNumbers!: string[];

  @Field(() => Int, { description: '1..10000' })
  @Min(1)
  @Max(10000)
  maxConcurrentCalls!: number;

  @Field(() => [DigestAlgorithm], { nullable: true, description: 'Default [MD5, SHA256]' })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  digestAlgorithms?: DigestAlgorithm[] | null;

  @Field(() => FailoverSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  failover?: FailoverSettingsInput | null;

  @Field(() => HealthCheckInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  healthCheck?: HealthCheckInput | null;
}

@InputType({ description: 'Fields left out keep their value. A new sipUsername needs the sipPassword too.' })
export class UpdateTrunkInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string | null;

  @Field(() => String, { nullable: true })
  sipUsername?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(SIP_PASSWORD_LENGTH.min, SIP_PASSWORD_LENGTH.max)
  sipPassword?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(MAX_INBOUND_NUMBERS)
  inboundNumbers?: string[] | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1)
  @Max(10000)
  maxConcurrentCalls?: number | null;

  @Field(() => [DigestAlgorithm], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  digestAlgorithms?: DigestAlgorithm[] | null;

  @Field(() => FailoverSettingsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  failover?: FailoverSettingsInput | null;

  @Field(() => HealthCheckInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  healthCheck?: HealthCheckInput | null;
}
