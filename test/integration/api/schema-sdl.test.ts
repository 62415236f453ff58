import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { GraphQLField } from 'graphql';
import { buildApiSchema } from '../../../api/schema';
import { printApiSchema, SCHEMA_FILE } from '../../../app/emit-schema';

/** `name(arg: Type, ...): Result`, arguments by name (their order means nothing in GraphQL). */
function signature(name: string, field: GraphQLField<unknown, unknown>): string {
  return `${name}(${[...field.args].sort((x, y) => x.name.localeCompare(y.name)).map((arg) => `${arg.name}: ${String(arg.type)}`).join(', ')}): ${String(field.type)}`;
}

describe('the committed GraphQL schema', () => {
  it('matches the schema the code builds (run `npm run schema` after an intended change)', async () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).to.equal(await printApiSchema());
  });

  it('has the subscriptions clients rely on, with these names and arguments', async () => {
    const fields = (await buildApiSchema()).getSubscriptionType()?.getFields() ?? {};
    expect(Object.entries(fields).map(([name, field]) => signature(name, field))).to.include.members([
      'trunkEvents(after: String, companyId: ID!): TrunkEvent!',
      'trunkStatus(trunkId: ID!): TrunkStatus!',
    ]);
  });

  it('has the operations clients rely on, with these names and arguments', async () => {
    const schema = await buildApiSchema();
    const fields = { ...schema.getQueryType()?.getFields(), ...schema.getMutationType()?.getFields() };
    const actual = Object.entries(fields).map(([name, field]) => signature(name, field));
    expect(actual).to.include.members([
      'createCompany(input: CreateCompanyInput!): Company!',
      'updateCompany(id: ID!, input: UpdateCompanyInput!): Company!',
      'deleteCompany(id: ID!): ID!',
      'company(id: ID!): Company!',
      'companies(after: String, first: Int!): CompanyConnection!',
      'createApiKey(input: CreateApiKeyInput!): CreateApiKeyPayload!',
      'revokeApiKey(id: ID!): ApiKey!',
      'createCarrier(input: CreateCarrierInput!): Carrier!',
      'updateCarrier(id: ID!, input: UpdateCarrierInput!): Carrier!',
      'deleteCarrier(id: ID!): ID!',
      'carriers(after: String, first: Int!): CarrierConnection!',
      'setOutboundGateway(uri: String): OutboundGateway',
      'setWebhookAllowedNetworks(cidrs: [String!]!): [String!]!',
      'webhookAllowedNetworks(): [String!]!',
      'setMaxCallLengthSeconds(seconds: Int!): Int!',
      'maxCallLengthSeconds(): Int!',
      'createTrunk(input: CreateTrunkInput!): Trunk!',
      'updateTrunk(id: ID!, input: UpdateTrunkInput!): Trunk!',
      'deleteTrunk(id: ID!): ID!',
      'trunk(id: ID!): Trunk!',
      'trunks(after: String, companyId: ID, first: Int!): TrunkConnection!',
      'trunkEvents(after: String, companyId: ID!, first: Int!, trunkId: ID): TrunkEventConnection!',
      'createDialPlan(input: CreateDialPlanInput!): DialPlan!',
      'updateDialPlan(id: ID!, input: UpdateDialPlanInput!): DialPlan!',
      'deleteDialPlan(id: ID!): ID!',
      'dialPlan(id: ID!): DialPlan!',
      'dialPlans(after: String, companyId: ID, first: Int!): DialPlanConnection!',
      'calls(after: String, filter: CallFilterInput, first: Int!): CallRecordConnection!',
    ]);
  });
});
