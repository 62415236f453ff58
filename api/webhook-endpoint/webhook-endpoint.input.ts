import { ArrayMaxSize, ArrayMinSize, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { MAX_WEBHOOK_URL_CHARS } from '../../domain/webhook';
import { TrunkEventType } from '../../domain/trunk-health';

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => ID)
  companyId!: string;

  @Field(() => String, { description: 'http or https; an IP literal host must be a public address or in the operator\'s allowed networks' })
  @MaxLength(MAX_WEBHOOK_URL_CHARS)
  url!: string;

  @Field(() => [TrunkEventType], { description: 'The trunk events POSTed to the URL' })
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  events!: TrunkEventType[];
}
