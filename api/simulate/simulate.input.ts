import { Field, InputType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { IsOptional, Length, ValidateNested } from 'class-validator';

export enum SimulatedPbxAnswer {
  DELIVERED = 'DELIVERED',
  SILENT = 'SILENT',
  SERVER_ERROR = 'SERVER_ERROR',
  BUSY = 'BUSY',
}

registerEnumType(SimulatedPbxAnswer, {
  name: 'SimulatedPbxAnswer',
  description: "DELIVERED: answers; SILENT: no 1xx; SERVER_ERROR: 500 (or the trunk's first trigger code); BUSY: 486",
});

@InputType({ description: 'Assumptions about the PBX; left out: registered as it is now, DELIVERED, channels free' })
export class SimulateAssumptionsInput {
  @Field(() => Boolean, { nullable: true })
  registered?: boolean | null;

  @Field(() => SimulatedPbxAnswer, { nullable: true })
  pbxAnswers?: SimulatedPbxAnswer | null;

  @Field(() => Boolean, { nullable: true })
  channelsFull?: boolean | null;
}

@InputType()
export class SimulateCallInput {
  @Field(() => String, { description: 'The dialled number, E.164' })
  @Length(1, 32)
  did!: string;

  @Field(() => String, { nullable: true, description: "The caller's number or user part as a From header carries it (percent-escapes and `;` parameters read as there); left out: anonymous" })
  @IsOptional()
  @Length(1, 64)
  caller?: string | null;

  @Field(() => DateTimeResolver, { nullable: true, description: 'Default now' })
  at?: Date | null;

  @Field(() => SimulateAssumptionsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  assume?: SimulateAssumptionsInput | null;
}
