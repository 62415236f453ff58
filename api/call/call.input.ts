import { Field, ID, InputType } from 'type-graphql';
import { CallOutcome } from '../../schema/entities/call-record.entity';

@InputType()
export class CallFilterInput {
  @Field(() => ID, { nullable: true })
  trunkId?: string | null;

  @Field(() => CallOutcome, { nullable: true })
  outcome?: CallOutcome | null;
}
