import { expect } from 'chai';
import { Client, type Notification } from 'pg';
import { CONFIG_CHANNEL } from '../../../schema/config-change';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const SET = `mutation ($cidrs: [String!]!) { setWebhookAllowedNetworks(cidrs: $cidrs) }`;
const GET = `{ webhookAllowedNetworks }`;

describe('webhook allowed networks (operator setting)', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('is empty by default, and set and read back canonical, duplicates dropped', async () => {
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: [] });
    const { setWebhookAllowedNetworks } = await api.ok<{ setWebhookAllowedNetworks: string[] }>(OPERATOR_KEY, SET, {
      cidrs: ['127.0.0.0/8', ' 10.20.0.0/16', '::1', 'FD00:AB::/32', '127.0.0.0/8'],
    });
    expect(setWebhookAllowedNetworks).to.deep.equal(['127.0.0.0/8', '10.20.0.0/16', '::1/128', 'fd00:ab::/32']);
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: setWebhookAllowedNetworks });
    await api.ok(OPERATOR_KEY, SET, { cidrs: ['192.168.0.0/16'] });
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: ['192.168.0.0/16'] });
    expect(await api.ok(OPERATOR_KEY, SET, { cidrs: [] })).to.deep.equal({ setWebhookAllowedNetworks: [] });
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: [] });
    expect(await api.dataSource.query('SELECT count(*)::int AS rows FROM webhook_allowed_networks')).to.deep.equal([{ rows: 1 }]);
  });

  it('is FORBIDDEN to company keys, both ways, and changes nothing', async () => {
    await api.ok(OPERATOR_KEY, SET, { cidrs: ['127.0.0.0/8'] });
    const company = await api.company('Not An Operator');
    expect(await api.errorCode(company.key, SET, { cidrs: ['0.0.0.0/0'] })).to.equal('FORBIDDEN');
    expect(await api.errorCode(company.key, GET)).to.equal('FORBIDDEN');
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: ['127.0.0.0/8'] });
  });

  const invalid: { cidr: string; problem: string }[] = [
    { cidr: '10.1.2.3/8', problem: 'cidrs[1]: "10.1.2.3/8" has host bits set; the network is 10.0.0.0/8' },
    { cidr: '10.0.0.0/33', problem: 'cidrs[1]: "10.0.0.0/33" is not an IP address or CIDR network' },
    { cidr: 'hooks.example.com', problem: 'cidrs[1]: "hooks.example.com" is not an IP address or CIDR network' },
    { cidr: '127.1', problem: 'cidrs[1]: "127.1" is not an IP address or CIDR network' },
    { cidr: 'fe80::1%eth0', problem: 'cidrs[1]: "fe80::1%eth0" is not an IP address or CIDR network' },
  ];
  for (const row of invalid) {
    it(`refuses ${JSON.stringify(row.cidr)} with BAD_USER_INPUT naming it, and keeps the list`, async () => {
      await api.ok(OPERATOR_KEY, SET, { cidrs: ['127.0.0.0/8'] });
      const result = await api.request(OPERATOR_KEY, SET, { cidrs: ['192.168.0.0/16', row.cidr] });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
      expect(result.errors?.[0].extensions?.problems).to.deep.equal([row.problem]);
      expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ webhookAllowedNetworks: ['127.0.0.0/8'] });
    });
  }

  it('accepts 100 networks and refuses 101', async () => {
    const cidrs = Array.from({ length: 101 }, (_, i) => `10.${i}.0.0/16`);
    expect((await api.ok<{ setWebhookAllowedNetworks: string[] }>(OPERATOR_KEY, SET, { cidrs: cidrs.slice(0, 100) })).setWebhookAllowedNetworks).to.have.length(100);
    const result = await api.request(OPERATOR_KEY, SET, { cidrs });
    expect(result.errors?.[0].extensions?.problems).to.deep.equal(['cidrs: at most 100 networks']);
  });

  it('cuts a long bad entry in the answer', async () => {
    const result = await api.request(OPERATOR_KEY, SET, { cidrs: ['z'.repeat(100_000)] });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.text.length).to.be.lessThan(1000);
  });

  it('notifies config_changed once committed, so the SIP workers reload it', async () => {
    const listener = new Client({ connectionString: api.database.url });
    await listener.connect();
    try {
      const received: Notification[] = [];
      listener.on('notification', (message) => received.push(message));
      await listener.query(`LISTEN ${CONFIG_CHANNEL}`);
      await api.ok(OPERATOR_KEY, SET, { cidrs: ['127.0.0.0/8'] });
      const deadline = Date.now() + 2000;
      while (!received.some((message) => message.payload?.includes('webhook_allowed_networks')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [row] = await api.dataSource.query('SELECT id FROM webhook_allowed_networks');
      const payloads = received.map((message) => JSON.parse(message.payload ?? 'null'));
      expect(payloads).to.deep.include({ table: 'webhook_allowed_networks', id: row.id, op: 'UPDATE' });
    } finally {
      await listener.end();
    }
  });
});
