import { Field, InputType } from 'type-graphql';
import { IsOptional, Length } from 'class-validator';

@InputType()
export class CreateCompanyInput {
  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => String, { description: 'IANA time zone, e.g. Europe/Berlin' })
  @Length(1, 64)
  timeZone!: string;
}

@InputType({ description: 'Fields left out keep their value' })
export class UpdateCompanyInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64)
  timeZone?: string;
}
