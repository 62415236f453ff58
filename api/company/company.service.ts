import type { DataSource, EntityManager } from 'typeorm';
import { Company } from '../../schema/entities/company.entity';
import { isIanaTimeZone } from '../../domain/time-zone';
import { quoteInput } from '../../domain/quote-input';
import { canAccessCompany, type Actor } from '../auth/actor';
import { badInput, forbidden, notFound } from '../errors';
import { isId } from '../ids';
import { checkName } from '../names';
import { paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import { CompanyType } from './company.type';
import type { CreateCompanyInput, UpdateCompanyInput } from './company.input';

function checkTimeZone(timeZone: string | undefined | null): void {
  if (timeZone != null && !isIanaTimeZone(timeZone)) {
    throw badInput([`timeZone: ${quoteInput(timeZone)} is not an IANA time zone (e.g. Europe/Berlin)`]);
  }
}

/**
 * Loads a company the actor may see, or fails with NOT_FOUND: another company's id answers
 * exactly like an unknown one. Shared by every service that takes a companyId.
 */
export async function findAccessibleCompany(manager: EntityManager, actor: Actor, id: string): Promise<Company> {
  const company = isId(id) && canAccessCompany(actor, id) ? await manager.findOneBy(Company, { id }) : null;
  if (company === null) throw notFound('Company', id);
  return company;
}

export class CompanyService {
  constructor(private readonly dataSource: DataSource) {}

  async create(actor: Actor, input: CreateCompanyInput): Promise<CompanyType> {
    if (actor.kind !== 'operator') throw forbidden('only operator keys create companies');
    const name = checkName(input.name) as string;
    checkTimeZone(input.timeZone);
    const company = await inTransaction(this.dataSource, (manager) => manager.save(manager.create(Company, { name, timeZone: input.timeZone })));
    return CompanyType.from(company);
  }

  async update(actor: Actor, id: string, input: UpdateCompanyInput): Promise<CompanyType> {
    const name = checkName(input.name);
    checkTimeZone(input.timeZone);
    return inTransaction(this.dataSource, async (manager) => {
      const company = await findAccessibleCompany(manager, actor, id);
      if (name !== undefined) company.name = name;
      if (input.timeZone != null) company.timeZone = input.timeZone;
      return CompanyType.from(await manager.save(company));
    });
  }

  /** Deletes the company with everything it owns (keys, trunks, dial plans, numbers, call records). */
  async delete(actor: Actor, id: string): Promise<string> {
    if (actor.kind !== 'operator') {
      // A company key must not delete its own company; for any other id it learns nothing.
      if (actor.companyId === id) throw forbidden('only operator keys delete companies');
      throw notFound('Company', id);
    }
    return inTransaction(this.dataSource, async (manager) => {
      await findAccessibleCompany(manager, actor, id);
      await manager.delete(Company, { id });
      return id;
    });
  }

  async get(actor: Actor, id: string): Promise<CompanyType> {
    return CompanyType.from(await findAccessibleCompany(this.dataSource.manager, actor, id));
  }

  async list(actor: Actor, page: PageArgs): Promise<Page<CompanyType>> {
    const query = this.dataSource.getRepository(Company).createQueryBuilder('company');
    if (actor.kind === 'company') query.where('company.id = :companyId', { companyId: actor.companyId });
    return paginate(query, page, { timeColumn: 'createdAt', direction: 'ASC' }, CompanyType.from);
  }
}
