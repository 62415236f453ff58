import { expect } from 'chai';
import { Client, type Notification } from 'pg';
import { CONFIG_CHANNEL, parseConfigChange, type ConfigChange } from '../../schema/config-change';
import { forwardFlow, OPERATOR_KEY, TestApi } from '../support/api';

/** How long "nothing arrives" is watched for: NOTIFY on loopback lands in well under a millisecond. */
const QUIET_MS = 150;

/** A plain `pg` LISTEN client that collects config_changed payloads. */
class Listener {
  readonly received: ConfigChange[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly client: Client) {
    client.on('notification', (message: Notification) => {
      if (message.channel !== CONFIG_CHANNEL) return;
      const change = parseConfigChange(message.payload ?? '');
      if (change === null) throw new Error(`unparsable payload ${message.payload}`);
      this.received.push(change);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async start(url: string): Promise<Listener> {
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    return new Listener(client);
  }

  /** Waits until a change matching `expected` has arrived, or fails after `timeoutMs`. */
  async expect(expected: Partial<ConfigChange>, timeoutMs = 2000): Promise<ConfigChange> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((change) => Object.entries(expected).every(([key, value]) => change[key as keyof ConfigChange] === value));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no notification ${JSON.stringify(expected)}; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async quiet(): Promise<ConfigChange[]> {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    return [...this.received];
  }

  clear(): void {
    this.received.length = 0;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

interface TableCase {
  readonly table: ConfigChange['table'];
  readonly insert: string;
  readonly update: string;
  readonly delete: string;
  /** The notified id of the row the statements touch. */
  readonly id: string;
}

describe('config_changed notifications', () => {
  let api: TestApi;
  let listener: Listener;
  let writer: Client;
  const ids = {
    company: '11111111-1111-4111-8111-111111111111',
    plan: '22222222-2222-4222-8222-222222222222',
    trunk: '33333333-3333-4333-8333-333333333333',
    carrier: '44444444-4444-4444-8444-444444444444',
    gateway: '55555555-5555-4555-8555-555555555555',
    registration: '66666666-6666-4666-8666-666666666666',
    company2: '77777777-7777-4777-8777-777777777777',
    plan2: '88888888-8888-4888-8888-888888888888',
    trunk2: '99999999-9999-4999-8999-999999999999',
    webhookNetworks: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
    callLimits: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
  };
  const flow = JSON.stringify(forwardFlow());
  const trunkColumns = `company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, max_concurrent_calls`;

  before(async () => {
    api = await TestApi.start();
    writer = new Client({ connectionString: api.database.url });
    await writer.connect();
    await writer.query(`INSERT INTO company (id, name, time_zone) VALUES ($1, 'Fixture', 'UTC')`, [ids.company2]);
    await writer.query(`INSERT INTO dial_plan (id, company_id, name, internal_number, flow) VALUES ($1, $2, 'P', '1', $3)`, [ids.plan2, ids.company2, flow]);
    await writer.query(`INSERT INTO trunk (id, ${trunkColumns}) VALUES ($1, $2, 'T', 'fixture', 'r', 'x', 'y', 1)`, [ids.trunk2, ids.company2]);
    listener = await Listener.start(api.database.url);
  });
  after(async () => {
    await listener.close();
    await writer.end();
    await api.stop();
  });
  beforeEach(() => listener.clear());

  const cases: TableCase[] = [
    {
      table: 'company',
      id: ids.company,
      insert: `INSERT INTO company (id, name, time_zone) VALUES ('${ids.company}', 'N', 'UTC')`,
      update: `UPDATE company SET name = 'M' WHERE id = '${ids.company}'`,
      delete: `DELETE FROM company WHERE id = '${ids.company}'`,
    },
    {
      table: 'carrier',
      id: ids.carrier,
      insert: `INSERT INTO carrier (id, name, source_cidrs) VALUES ('${ids.carrier}', 'C', '{10.0.0.0/8}')`,
      update: `UPDATE carrier SET source_cidrs = '{192.0.2.0/24}' WHERE id = '${ids.carrier}'`,
      delete: `DELETE FROM carrier WHERE id = '${ids.carrier}'`,
    },
    {
      table: 'outbound_gateway',
      id: ids.gateway,
      insert: `INSERT INTO outbound_gateway (id, uri) VALUES ('${ids.gateway}', 'sip:gw.example')`,
      update: `UPDATE outbound_gateway SET uri = 'sip:gw2.example' WHERE id = '${ids.gateway}'`,
      delete: `DELETE FROM outbound_gateway WHERE id = '${ids.gateway}'`,
    },
    {
      table: 'webhook_allowed_networks',
      id: ids.webhookNetworks,
      insert: `INSERT INTO webhook_allowed_networks (id, cidrs) VALUES ('${ids.webhookNetworks}', '{127.0.0.0/8}')`,
      update: `UPDATE webhook_allowed_networks SET cidrs = '{}' WHERE id = '${ids.webhookNetworks}'`,
      delete: `DELETE FROM webhook_allowed_networks WHERE id = '${ids.webhookNetworks}'`,
    },
    {
      table: 'call_limits',
      id: ids.callLimits,
      insert: `INSERT INTO call_limits (id, max_call_length_seconds) VALUES ('${ids.callLimits}', 3600)`,
      update: `UPDATE call_limits SET max_call_length_seconds = 60 WHERE id = '${ids.callLimits}'`,
      delete: `DELETE FROM call_limits WHERE id = '${ids.callLimits}'`,
    },
    {
      table: 'dial_plan',
      id: ids.plan,
      insert: `INSERT INTO dial_plan (id, company_id, name, internal_number, flow) VALUES ('${ids.plan}', '${ids.company2}', 'P2', '2', '${flow}')`,
      update: `UPDATE dial_plan SET name = 'P3' WHERE id = '${ids.plan}'`,
      delete: `DELETE FROM dial_plan WHERE id = '${ids.plan}'`,
    },
    {
      table: 'trunk',
      id: ids.trunk,
      insert: `INSERT INTO trunk (id, ${trunkColumns}) VALUES ('${ids.trunk}', '${ids.company2}', 'T2', 'fixture2', 'r', 'x', 'y', 1)`,
      update: `UPDATE trunk SET max_concurrent_calls = 2 WHERE id = '${ids.trunk}'`,
      delete: `DELETE FROM trunk WHERE id = '${ids.trunk}'`,
    },
    {
      table: 'did',
      id: '+442079468000',
      insert: `INSERT INTO did (number, trunk_id) VALUES ('+442079468000', '${ids.trunk2}')`,
      update: `UPDATE did SET trunk_id = NULL, dial_plan_id = '${ids.plan2}' WHERE number = '+442079468000'`,
      delete: `DELETE FROM did WHERE number = '+442079468000'`,
    },
    {
      table: 'registration',
      id: ids.registration,
      insert: `INSERT INTO registration (id, trunk_id, contact, source_address, source_port, expires_at)
               VALUES ('${ids.registration}', '${ids.trunk2}', 'sip:p@h', '203.0.113.1', 5060, now() + interval '1 hour')`,
      update: `UPDATE registration SET expires_at = now() + interval '2 hours' WHERE id = '${ids.registration}'`,
      delete: `DELETE FROM registration WHERE id = '${ids.registration}'`,
    },
    {
      table: 'trunk_health',
      id: ids.trunk2,
      insert: `DELETE FROM trunk_health WHERE trunk_id = '${ids.trunk2}'; INSERT INTO trunk_health (trunk_id) VALUES ('${ids.trunk2}')`,
      update: `UPDATE trunk_health SET state = 'DOWN', reason = 'CALLS_FAILING', failures = 3 WHERE trunk_id = '${ids.trunk2}'`,
      delete: `DELETE FROM trunk_health WHERE trunk_id = '${ids.trunk2}'; INSERT INTO trunk_health (trunk_id) VALUES ('${ids.trunk2}')`,
    },
  ];

  for (const row of cases) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE'] as const) {
      it(`notifies ${op} on ${row.table} only after commit`, async () => {
        await writer.query('BEGIN');
        await writer.query(op === 'INSERT' ? row.insert : op === 'UPDATE' ? row.update : row.delete);
        expect(await listener.quiet()).to.deep.equal([], 'nothing before commit');
        await writer.query('COMMIT');
        expect(await listener.expect({ table: row.table, op })).to.deep.equal({ table: row.table, id: row.id, op });
      });
    }
  }

  it('sends nothing for a rolled-back write', async () => {
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO company (name, time_zone) VALUES ('Ghost', 'UTC')`);
    await writer.query('ROLLBACK');
    expect(await listener.quiet()).to.deep.equal([]);
  });

  it('notifies a TRUNCATE as a whole-table change', async () => {
    await writer.query('TRUNCATE outbound_gateway');
    expect(await listener.expect({ table: 'outbound_gateway' })).to.deep.equal({ table: 'outbound_gateway', id: '*', op: 'TRUNCATE' });
  });

  it('does not notify for API keys, call records or load reports', async () => {
    await writer.query(`INSERT INTO api_key (scope, name, key_hash) VALUES ('OPERATOR', 'k', 'h-${Date.now()}')`);
    await writer.query(`INSERT INTO call_record (call_id, dialled, started_at, outcome, worker) VALUES ('c', '+1', now(), 'REJECTED', 'w')`);
    await writer.query(`INSERT INTO trunk_load (trunk_id, node_id, active_calls, reported_at) VALUES ($1, 'n', 1, now())`, [ids.trunk2]);
    expect(await listener.quiet()).to.deep.equal([]);
  });

  it('notifies every change an API mutation makes, each once committed', async () => {
    const company = await api.company('Notify Co');
    await listener.expect({ table: 'company', id: company.id, op: 'INSERT' });
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: company.id, name: 'N', sipUsername: 'notify-pbx', sipPassword: 'long enough secret', inboundNumbers: ['+442079468100'], maxConcurrentCalls: 1 },
    });
    await listener.expect({ table: 'trunk', id: createTrunk.id, op: 'INSERT' });
    await listener.expect({ table: 'did', id: '+442079468100', op: 'INSERT' });
    await api.ok(company.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: { maxConcurrentCalls: 4 }) { id } }`, { id: createTrunk.id });
    await listener.expect({ table: 'trunk', id: createTrunk.id, op: 'UPDATE' });
    await api.ok(OPERATOR_KEY, `mutation { setOutboundGateway(uri: "sip:gw.example") { uri } }`);
    await listener.expect({ table: 'outbound_gateway', op: 'INSERT' });
    await api.ok(company.key, `mutation ($id: ID!) { deleteTrunk(id: $id) }`, { id: createTrunk.id });
    await listener.expect({ table: 'trunk', id: createTrunk.id, op: 'DELETE' });
    await listener.expect({ table: 'did', id: '+442079468100', op: 'DELETE' });
  });

  it('sends nothing for a mutation that fails', async () => {
    const company = await api.company('Failing Co');
    listener.clear();
    const code = await api.errorCode(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: company.id, name: 'N', sipUsername: 'fixture', sipPassword: 'long enough secret', inboundNumbers: ['+442079468200'], maxConcurrentCalls: 1 },
    });
    expect(code).to.equal('CONFLICT', 'the trunk row was written, then rolled back');
    expect(await listener.quiet()).to.deep.equal([], 'the CONFLICT rolled the trunk and number back, and their notifications');
  });
});
