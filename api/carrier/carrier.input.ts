import { Field, InputType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsOptional, Length } from 'class-validator';

@InputType()
export class CreateCarrierInput {
  @Field(() => String)
  @Length(1, 200)
  name!: string;

  @Field(() => [String], { description: 'Networks calls may come from: 198.51.100.0/24, 2001:db8::/32, or a single address' })
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  sourceCidrs!: string[];
}

@InputType({ description: 'Fields left out keep their value' })
export class UpdateCarrierInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  name?: string;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  sourceCidrs?: string[];
}
