import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateCarrierInput!) { createCarrier(input: $input) { id name sourceCidrs } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateCarrierInput!) { updateCarrier(id: $id, input: $input) { id name sourceCidrs } }`;
const LIST = `{ carriers(first: 200) { edges { node { id name sourceCidrs } } } }`;
const SET_GATEWAY = `mutation ($uri: String) { setOutboundGateway(uri: $uri) { uri updatedAt } }`;

describe('carriers and the outbound gateway', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('creates carriers with canonical CIDRs, updates, lists and deletes them', async () => {
    const { createCarrier } = await api.ok<{ createCarrier: { id: string; sourceCidrs: string[] } }>(OPERATOR_KEY, CREATE, {
      input: { name: 'Carrier One', sourceCidrs: ['198.51.100.0/24', '203.0.113.9', '2001:DB8::/32', '198.51.100.0/24'] },
    });
    expect(createCarrier.sourceCidrs).to.deep.equal(['198.51.100.0/24', '203.0.113.9/32', '2001:db8::/32']);
    const { updateCarrier } = await api.ok<{ updateCarrier: { name: string; sourceCidrs: string[] } }>(OPERATOR_KEY, UPDATE, {
      id: createCarrier.id,
      input: { sourceCidrs: ['192.0.2.0/25'] },
    });
    expect(updateCarrier).to.deep.equal({ id: createCarrier.id, name: 'Carrier One', sourceCidrs: ['192.0.2.0/25'] });
    const { carriers } = await api.ok<{ carriers: { edges: { node: { id: string } }[] } }>(OPERATOR_KEY, LIST);
    expect(carriers.edges.map((edge) => edge.node.id)).to.include(createCarrier.id);
    await api.ok(OPERATOR_KEY, `mutation ($id: ID!) { deleteCarrier(id: $id) }`, { id: createCarrier.id });
    expect(await api.errorCode(OPERATOR_KEY, `mutation ($id: ID!) { deleteCarrier(id: $id) }`, { id: createCarrier.id })).to.equal('NOT_FOUND');
  });

  const invalid: { name: string; input: Record<string, unknown> }[] = [
    { name: 'no networks', input: { name: 'C', sourceCidrs: [] } },
    { name: 'a host address with a prefix', input: { name: 'C', sourceCidrs: ['10.1.2.3/8'] } },
    { name: 'a prefix too long', input: { name: 'C', sourceCidrs: ['10.0.0.0/33'] } },
    { name: 'a host name', input: { name: 'C', sourceCidrs: ['sbc.carrier.example'] } },
    { name: 'a blank name', input: { name: ' ', sourceCidrs: ['10.0.0.0/8'] } },
  ];
  for (const row of invalid) {
    it(`refuses ${row.name} with BAD_USER_INPUT`, async () => {
      expect(await api.errorCode(OPERATOR_KEY, CREATE, { input: row.input })).to.equal('BAD_USER_INPUT');
    });
  }

  it('answers CONFLICT for a carrier name in use', async () => {
    await api.ok(OPERATOR_KEY, CREATE, { input: { name: 'Twin', sourceCidrs: ['10.0.0.0/8'] } });
    expect(await api.errorCode(OPERATOR_KEY, CREATE, { input: { name: 'twin', sourceCidrs: ['10.0.0.0/8'] } })).to.equal('CONFLICT');
  });

  it('sets, replaces and removes the one outbound gateway', async () => {
    const first = await api.ok<{ setOutboundGateway: { uri: string } }>(OPERATOR_KEY, SET_GATEWAY, { uri: 'sip:gw1.carrier.example:5060' });
    expect(first.setOutboundGateway.uri).to.equal('sip:gw1.carrier.example:5060');
    await api.ok(OPERATOR_KEY, SET_GATEWAY, { uri: 'sip:192.0.2.10;transport=udp' });
    expect(await api.dataSource.query('SELECT uri FROM outbound_gateway')).to.deep.equal([{ uri: 'sip:192.0.2.10;transport=udp' }]);
    const { outboundGateway } = await api.ok<{ outboundGateway: { uri: string } }>(OPERATOR_KEY, `{ outboundGateway { uri } }`);
    expect(outboundGateway.uri).to.equal('sip:192.0.2.10;transport=udp');
    const removed = await api.ok<{ setOutboundGateway: null }>(OPERATOR_KEY, SET_GATEWAY, { uri: null });
    expect(removed.setOutboundGateway).to.equal(null);
    expect(await api.dataSource.query('SELECT uri FROM outbound_gateway')).to.deep.equal([]);
  });

  for (const uri of ['http://gw.example', 'sip:+4930123@gw.example', 'sips:gw.example', 'gw.example:5060', 'sip:gw..example']) {
    it(`refuses the gateway URI "${uri}"`, async () => {
      expect(await api.errorCode(OPERATOR_KEY, SET_GATEWAY, { uri })).to.equal('BAD_USER_INPUT');
    });
  }

  it('keeps carriers and the gateway away from company keys', async () => {
    const company = await api.company('Not An Operator');
    expect(await api.errorCode(company.key, LIST)).to.equal('FORBIDDEN');
    expect(await api.errorCode(company.key, CREATE, { input: { name: 'Mine', sourceCidrs: ['10.0.0.0/8'] } })).to.equal('FORBIDDEN');
    expect(await api.errorCode(company.key, SET_GATEWAY, { uri: 'sip:evil.example' })).to.equal('FORBIDDEN');
    expect(await api.errorCode(company.key, `{ outboundGateway { uri } }`)).to.equal('FORBIDDEN');
  });
});
