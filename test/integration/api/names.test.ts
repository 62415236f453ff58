import { expect } from 'chai';
import { isInputObjectType } from 'graphql';
import { buildApiSchema } from '../../../api/schema';
import { forwardFlow, OPERATOR_KEY, TestApi } from '../../support/api';

/** One of each kind the rule names: C0 (NUL, TAB, ESC, US), DEL, C1 (first, NEL, last). */
const CONTROL_CHARACTERS = ['\u0000', '\t', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];

describe('names refuse control characters', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let ids: Record<string, string>;
  before(async () => {
    api = await TestApi.start();
    company = await api.company('Names Co');
    const trunk = await api.ok<{ createTrunk: { id: string } }>(
      company.key,
      `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
      { input: { companyId: company.id, name: 'PBX', sipUsername: 'names-pbx', sipPassword: 'a long enough secret', inboundNumbers: ['+442079460400'], maxConcurrentCalls: 1 } },
    );
    const plan = await api.ok<{ createDialPlan: { id: string } }>(
      company.key,
      `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`,
      { input: { companyId: company.id, name: 'Plan', internalNumber: '10', flow: forwardFlow() } },
    );
    const carrier = await api.ok<{ createCarrier: { id: string } }>(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Carrier", sourceCidrs: ["192.0.2.1"] }) { id } }`);
    ids = { company: company.id, trunk: trunk.createTrunk.id, dialPlan: plan.createDialPlan.id, carrier: carrier.createCarrier.id };
  });
  after(async () => {
    await api.stop();
  });

  /** Every input with a name, and a valid input around it. */
  const cases: Record<string, { mutation: string; input: () => Record<string, unknown>; id?: () => string }> = {
    CreateCompanyInput: { mutation: 'createCompany', input: () => ({ timeZone: 'Europe/Berlin' }) },
    UpdateCompanyInput: { mutation: 'updateCompany', input: () => ({}), id: () => ids.company },
    CreateTrunkInput: {
      mutation: 'createTrunk',
      input: () => ({ companyId: company.id, sipUsername: 'names-new', sipPassword: 'a long enough secret', inboundNumbers: [], maxConcurrentCalls: 1 }),
    },
    UpdateTrunkInput: { mutation: 'updateTrunk', input: () => ({}), id: () => ids.trunk },
    CreateDialPlanInput: { mutation: 'createDialPlan', input: () => ({ companyId: company.id, internalNumber: '11', flow: forwardFlow() }) },
    UpdateDialPlanInput: { mutation: 'updateDialPlan', input: () => ({}), id: () => ids.dialPlan },
    CreateCarrierInput: { mutation: 'createCarrier', input: () => ({ sourceCidrs: ['192.0.2.2'] }) },
    UpdateCarrierInput: { mutation: 'updateCarrier', input: () => ({}), id: () => ids.carrier },
    CreateApiKeyInput: { mutation: 'createApiKey', input: () => ({ companyId: company.id }) },
  };

  it('covers every input type with a name field', async () => {
    const schema = await buildApiSchema();
    const named = Object.values(schema.getTypeMap())
      .filter((type) => isInputObjectType(type) && 'name' in type.getFields())
      .map((type) => type.name);
    expect(Object.keys(cases).sort()).to.deep.equal(named.sort());
  });

  for (const [inputType, { mutation, input, id }] of Object.entries(cases)) {
    it(`${inputType}.name: BAD_USER_INPUT naming the field, never echoing the value`, async () => {
      const operation =
        id === undefined
          ? `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { __typename } }`
          : `mutation ($id: ID!, $input: ${inputType}!) { ${mutation}(id: $id, input: $input) { __typename } }`;
      for (const control of CONTROL_CHARACTERS) {
        const name = `Bad${control}Name-${control.charCodeAt(0).toString(16)}`;
        const result = await api.request(OPERATOR_KEY, operation, { id: id?.(), input: { ...input(), name } });
        const label = `U+${control.charCodeAt(0).toString(16).padStart(4, '0')}`;
        expect(result.errors?.[0].extensions?.code, label).to.equal('BAD_USER_INPUT');
        expect(result.errors?.[0].extensions?.problems, label).to.deep.equal(['name: must not contain control characters']);
        expect(result.text, label).not.to.include('Name-');
      }
      // The same input with a clean name (unicode beyond C1 included) is accepted.
      const clean = await api.request(OPERATOR_KEY, operation, { id: id?.(), input: { ...input(), name: `Zürich \u2013 ok ${inputType}` } });
      expect(clean.errors, inputType).to.equal(undefined);
    });
  }
});
