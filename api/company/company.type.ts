import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { Connection } from '../pagination';
import type { Company as CompanyEntity } from '../../schema/entities/company.entity';

@ObjectType('Company')
export class CompanyType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'IANA time zone, e.g. Europe/Berlin' })
  timeZone!: string;

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => DateTimeResolver)
  updatedAt!: Date;

  static from(entity: CompanyEntity): CompanyType {
    return Object.assign(new CompanyType(), {
      id: entity.id,
      name: entity.name,
      timeZone: entity.timeZone,
      createdAt: entity.createdAt,
      updatedAt: entity.updatedAt,
    });
  }
}

export const CompanyConnection = Connection('Company', CompanyType);
