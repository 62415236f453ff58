import { expect } from 'chai';
import { Client, type Notification } from 'pg';
import { CONFIG_CHANNEL } from '../../../schema/config-change';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const SET = `mutation ($seconds: Int!) { setMaxCallLengthSeconds(seconds: $seconds) }`;
const GET = `{ maxCallLengthSeconds }`;

describe('maximum call length (operator setting)', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('is 4 hours by default, and set and read back, in one row', async () => {
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: 14_400 });
    expect(await api.ok(OPERATOR_KEY, SET, { seconds: 7200 })).to.deep.equal({ setMaxCallLengthSeconds: 7200 });
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: 7200 });
    await api.ok(OPERATOR_KEY, SET, { seconds: 3600 });
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: 3600 });
    expect(await api.dataSource.query('SELECT max_call_length_seconds FROM call_limits')).to.deep.equal([{ max_call_length_seconds: 3600 }]);
  });

  for (const seconds of [60, 86_400]) {
    it(`accepts ${seconds} s, a limit of the range`, async () => {
      expect(await api.ok(OPERATOR_KEY, SET, { seconds })).to.deep.equal({ setMaxCallLengthSeconds: seconds });
      expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: seconds });
    });
  }

  for (const seconds of [59, 86_401, 0, -60]) {
    it(`refuses ${seconds} s with BAD_USER_INPUT, and keeps the value`, async () => {
      await api.ok(OPERATOR_KEY, SET, { seconds: 600 });
      const result = await api.request(OPERATOR_KEY, SET, { seconds });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
      expect(result.errors?.[0].extensions?.problems).to.deep.equal(['seconds: must be 60..86400']);
      expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: 600 });
    });
  }

  it('is FORBIDDEN to company keys, both ways, and changes nothing', async () => {
    await api.ok(OPERATOR_KEY, SET, { seconds: 900 });
    const company = await api.company('Not An Operator');
    expect(await api.errorCode(company.key, SET, { seconds: 86_400 })).to.equal('FORBIDDEN');
    expect(await api.errorCode(company.key, GET)).to.equal('FORBIDDEN');
    expect(await api.ok(OPERATOR_KEY, GET)).to.deep.equal({ maxCallLengthSeconds: 900 });
  });

  it('refuses a value outside the range in the database too', async () => {
    const error = await api.dataSource.query('UPDATE call_limits SET max_call_length_seconds = 59').catch((caught: unknown) => caught);
    expect(String(error)).to.include('call_limits_max_call_length_seconds_check');
  });

  it('notifies config_changed once committed, so the SIP workers reload it', async () => {
    const listener = new Client({ connectionString: api.database.url });
    await listener.connect();
    try {
      const received: Notification[] = [];
      listener.on('notification', (message) => received.push(message));
      await listener.query(`LISTEN ${CONFIG_CHANNEL}`);
      await api.ok(OPERATOR_KEY, SET, { seconds: 1200 });
      const deadline = Date.now() + 2000;
      while (!received.some((message) => message.payload?.includes('call_limits')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [row] = await api.dataSource.query('SELECT id FROM call_limits');
      const payloads = received.map((message) => JSON.parse(message.payload ?? 'null'));
      expect(payloads).to.deep.include({ table: 'call_limits', id: row.id, op: 'UPDATE' });
    } finally {
      await listener.end();
    }
  });
});
