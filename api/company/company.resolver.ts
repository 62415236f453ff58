import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateCompanyInput, UpdateCompanyInput } from './company.input';
import { CompanyConnection, CompanyType } from './company.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => CompanyType)
export class CompanyResolver {
  @Mutation(() => CompanyType, { description: 'Operators only' })
  createCompany(@Arg('input', () => CreateCompanyInput) input: CreateCompanyInput, @Ctx() ctx: ApiContext): Promise<CompanyType> {
    return ctx.services.companies.create(ctx.actor, input);
  }

  @Mutation(() => CompanyType)
  updateCompany(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateCompanyInput) input: UpdateCompanyInput,
    @Ctx() ctx: ApiContext,
  ): Promise<CompanyType> {
    return ctx.services.companies.update(ctx.actor, id, input);
  }

  @Mutation(() => ID, { description: 'Operators only. Deletes everything the company owns; returns the id.' })
  deleteCompany(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    return ctx.services.companies.delete(ctx.actor, id);
  }

  @Query(() => CompanyType)
  company(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<CompanyType> {
    return ctx.services.companies.get(ctx.actor, id);
  }

  @Query(() => CompanyConnection, { description: 'A company key sees its own company only' })
  companies(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: ApiContext): Promise<Page<CompanyType>> {
    return ctx.services.companies.list(ctx.actor, page);
  }
}
