import { Arg, Args, Ctx, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CallFilterInput } from './call.input';
import { CallRecordConnection, CallRecordType } from './call.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => CallRecordType)
export class CallResolver {
  @Query(() => CallRecordConnection, { description: 'Call records, newest first' })
  calls(
    @Arg('filter', () => CallFilterInput, { nullable: true }) filter: CallFilterInput | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<CallRecordType>> {
    return ctx.services.calls.list(ctx.actor, filter ?? null, page);
  }
}
