import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { Connection } from '../pagination';
import type { Carrier } from '../../schema/entities/carrier.entity';
import type { OutboundGateway } from '../../schema/entities/outbound-gateway.entity';

@ObjectType('Carrier', { description: 'A carrier whose source networks may send us calls' })
export class CarrierType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [String], { description: 'Canonical CIDR networks, IPv4 or IPv6' })
  sourceCidrs!: string[];

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => DateTimeResolver)
  updatedAt!: Date;

  static from(entity: Carrier): CarrierType {
    return Object.assign(new CarrierType(), {
      id: entity.id,
      name: entity.name,
      sourceCidrs: entity.sourceCidrs,
      createdAt: entity.createdAt,
      updatedAt: entity.updatedAt,
    });
  }
}

export const CarrierConnection = Connection('Carrier', CarrierType);

@ObjectType('OutboundGateway', { description: 'Where calls to external numbers leave the platform' })
export class OutboundGatewayType {
  @Field(() => String, { description: 'sip:host[:port][;params]' })
  uri!: string;

  @Field(() => DateTimeResolver)
  updatedAt!: Date;

  static from(entity: OutboundGateway): OutboundGatewayType {
    return Object.assign(new OutboundGatewayType(), { uri: entity.uri, updatedAt: entity.updatedAt });
  }
}
