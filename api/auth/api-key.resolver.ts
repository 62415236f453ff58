import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateApiKeyInput } from './api-key.input';
import { ApiKeyConnection, ApiKeyType, CreateApiKeyPayload } from './api-key.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => ApiKeyType)
export class ApiKeyResolver {
  @Mutation(() => CreateApiKeyPayload, { description: 'The secret is in this answer only' })
  createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: ApiContext): Promise<CreateApiKeyPayload> {
    return ctx.services.apiKeys.create(ctx.actor, input);
  }

  @Mutation(() => ApiKeyType)
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<ApiKeyType> {
    return ctx.services.apiKeys.revoke(ctx.actor, id);
  }

  @Query(() => ApiKeyConnection, { description: "A company's keys; without companyId the operator keys (operators only)" })
  apiKeys(
    @Arg('companyId', () => ID, { nullable: true }) companyId: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<ApiKeyType>> {
    return ctx.services.apiKeys.list(ctx.actor, companyId ?? null, page);
  }
}
