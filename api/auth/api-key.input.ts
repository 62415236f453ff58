import { Field, ID, InputType } from 'type-graphql';
import { Length } from 'class-validator';

@InputType()
export class CreateApiKeyInput {
  @Field(() => ID, { nullable: true, description: 'The company the key acts for; left out: an operator key (operators only)' })
  companyId?: string | null;

  @Field(() => String, { description: 'What the key is for, e.g. "panel" or a partner name' })
  @Length(1, 200)
  name!: string;
}
