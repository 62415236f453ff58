import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { ApiKeyScope, type ApiKey } from '../../schema/entities/api-key.entity';
import { Connection } from '../pagination';

registerEnumType(ApiKeyScope, { name: 'ApiKeyScope', description: 'OPERATOR keys see everything; COMPANY keys one company' });

/** An API key as clients see it: never the secret nor its hash. */
@ObjectType('ApiKey')
export class ApiKeyType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ApiKeyScope)
  scope!: ApiKeyScope;

  @Field(() => ID, { nullable: true, description: 'Null for operator keys' })
  companyId!: string | null;

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => DateTimeResolver, { nullable: true, description: 'Updated at most once a minute' })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeResolver, { nullable: true })
  revokedAt!: Date | null;

  static from(entity: ApiKey): ApiKeyType {
    return Object.assign(new ApiKeyType(), {
      id: entity.id,
      name: entity.name,
      scope: entity.scope,
      companyId: entity.companyId,
      createdAt: entity.createdAt,
      lastUsedAt: entity.lastUsedAt,
      revokedAt: entity.revokedAt,
    });
  }
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => String, { description: 'The key itself. Shown once: only its hash is kept.' })
  secret!: string;

  @Field(() => ApiKeyType)
  apiKey!: ApiKeyType;
}

export const ApiKeyConnection = Connection('ApiKey', ApiKeyType);
