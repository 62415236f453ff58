import { expect } from 'chai';
import type { Snapshot } from '../../../worker/config/snapshot';
import { FLOW } from './fixtures';

/** The fixed ids of the listener tests' rows. */
export const ID = {
  company: 'a1000000-0000-4000-8000-000000000001',
  company2: 'a1000000-0000-4000-8000-000000000002',
  plan: 'b1000000-0000-4000-8000-000000000001',
  plan2: 'b1000000-0000-4000-8000-000000000002',
  trunk: 'c1000000-0000-4000-8000-000000000001',
  trunk2: 'c1000000-0000-4000-8000-000000000002',
  registration: 'd1000000-0000-4000-8000-000000000001',
  carrier: 'e1000000-0000-4000-8000-000000000001',
  gateway: 'f1000000-0000-4000-8000-000000000001',
  webhookNetworks: 'f1000000-0000-4000-8000-000000000002',
  callLimits: 'f1000000-0000-4000-8000-000000000003',
};

/** A configuration table's insert, update and delete, each with what the next snapshot must show. */
export interface TableCase {
  readonly table: string;
  readonly insert: string;
  readonly inserted: (snapshot: Snapshot) => void;
  readonly update: string;
  readonly updated: (snapshot: Snapshot) => void;
  readonly delete: string;
  readonly deleted: (snapshot: Snapshot) => void;
}

/** One row per notifying table (the listener tests run each through insert, update and delete). */
export const TABLE_CASES: readonly TableCase[] = [
  {
    table: 'company',
    insert: `INSERT INTO company (id, name, time_zone) VALUES ('${ID.company2}', 'Other', 'UTC')`,
    inserted: (s) => expect(s.companies.get(ID.company2)).to.deep.equal({ id: ID.company2, timeZone: 'UTC' }),
    update: `UPDATE company SET time_zone = 'Asia/Tokyo' WHERE id = '${ID.company2}'`,
    updated: (s) => expect(s.companies.get(ID.company2)?.timeZone).to.equal('Asia/Tokyo'),
    delete: `DELETE FROM company WHERE id = '${ID.company2}'`,
    deleted: (s) => expect(s.companies.has(ID.company2)).to.equal(false),
  },
  {
    table: 'carrier',
    insert: `INSERT INTO carrier (id, name, source_cidrs) VALUES ('${ID.carrier}', 'Carrier X', '{10.1.0.0/16}')`,
    inserted: (s) => expect(s.carrierOf('10.1.2.3')?.name).to.equal('Carrier X'),
    update: `UPDATE carrier SET source_cidrs = '{10.2.0.0/16}' WHERE id = '${ID.carrier}'`,
    updated: (s) => expect([s.carrierOf('10.1.2.3'), s.carrierOf('::ffff:10.2.0.1')?.name]).to.deep.equal([null, 'Carrier X']),
    delete: `DELETE FROM carrier WHERE id = '${ID.carrier}'`,
    deleted: (s) => expect([s.carriers.length, s.carrierOf('10.2.0.1')]).to.deep.equal([0, null]),
  },
  {
    table: 'outbound_gateway',
    insert: `INSERT INTO outbound_gateway (id, uri) VALUES ('${ID.gateway}', 'sip:gw.example')`,
    inserted: (s) => expect(s.outboundGateway).to.equal('sip:gw.example'),
    update: `UPDATE outbound_gateway SET uri = 'sip:gw2.example:5080' WHERE id = '${ID.gateway}'`,
    updated: (s) => expect(s.outboundGateway).to.equal('sip:gw2.example:5080'),
    delete: `DELETE FROM outbound_gateway WHERE id = '${ID.gateway}'`,
    deleted: (s) => expect(s.outboundGateway).to.equal(null),
  },
  {
    table: 'webhook_allowed_networks',
    insert: `INSERT INTO webhook_allowed_networks (id, cidrs) VALUES ('${ID.webhookNetworks}', '{127.0.0.0/8}')`,
    inserted: (s) => expect(s.webhookAllowedNetworks).to.deep.equal(['127.0.0.0/8']),
    update: `UPDATE webhook_allowed_networks SET cidrs = '{10.0.0.0/8,::1/128}' WHERE id = '${ID.webhookNetworks}'`,
    updated: (s) => expect(s.webhookAllowedNetworks).to.deep.equal(['10.0.0.0/8', '::1/128']),
    delete: `DELETE FROM webhook_allowed_networks WHERE id = '${ID.webhookNetworks}'`,
    deleted: (s) => expect(s.webhookAllowedNetworks).to.deep.equal([]),
  },
  {
    table: 'call_limits',
    insert: `INSERT INTO call_limits (id, max_call_length_seconds) VALUES ('${ID.callLimits}', 3600)`,
    inserted: (s) => expect(s.maxCallLengthSeconds).to.equal(3600),
    update: `UPDATE call_limits SET max_call_length_seconds = 60 WHERE id = '${ID.callLimits}'`,
    updated: (s) => expect(s.maxCallLengthSeconds).to.equal(60),
    delete: `DELETE FROM call_limits WHERE id = '${ID.callLimits}'`,
    deleted: (s) => expect(s.maxCallLengthSeconds).to.equal(14_400),
  },
  {
    table: 'dial_plan',
    insert: `INSERT INTO dial_plan (id, company_id, name, internal_number, flow) VALUES ('${ID.plan2}', '${ID.company}', 'Night', '200', '${JSON.stringify(FLOW)}')`,
    inserted: (s) => expect(s.dialPlans.get(ID.plan2)).to.deep.equal({ id: ID.plan2, companyId: ID.company, name: 'Night', flow: FLOW }),
    update: `UPDATE dial_plan SET name = 'Weekend' WHERE id = '${ID.plan2}'`,
    updated: (s) => expect(s.dialPlans.get(ID.plan2)?.name).to.equal('Weekend'),
    delete: `DELETE FROM dial_plan WHERE id = '${ID.plan2}'`,
    deleted: (s) => expect(s.dialPlans.has(ID.plan2)).to.equal(false),
  },
  {
    table: 'trunk',
    insert: `INSERT INTO trunk (id, company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, max_concurrent_calls)
             VALUES ('${ID.trunk2}', '${ID.company}', 'Second', 'Second-PBX', 'trunks.test', 'a', 'b', 2)`,
    inserted: (s) => expect(s.trunksByUsername.get('second-pbx')?.id).to.equal(ID.trunk2),
    update: `UPDATE trunk SET max_concurrent_calls = 9, sip_username = 'second-renamed' WHERE id = '${ID.trunk2}'`,
    updated: (s) => expect([s.trunks.get(ID.trunk2)?.maxConcurrentCalls, s.trunksByUsername.has('second-pbx'), s.trunksByUsername.get('second-renamed')?.maxConcurrentCalls]).to.deep.equal([9, false, 9]),
    delete: `DELETE FROM trunk WHERE id = '${ID.trunk2}'`,
    deleted: (s) => expect([s.trunks.has(ID.trunk2), s.trunksByUsername.has('second-renamed')]).to.deep.equal([false, false]),
  },
  {
    table: 'did',
    insert: `INSERT INTO did (number, trunk_id) VALUES ('+442079461234', '${ID.trunk}')`,
    inserted: (s) => expect(s.dids.get('+442079461234')).to.deep.equal({ kind: 'trunk', trunkId: ID.trunk }),
    update: `UPDATE did SET trunk_id = NULL, dial_plan_id = '${ID.plan}' WHERE number = '+442079461234'`,
    updated: (s) => expect(s.dids.get('+442079461234')).to.deep.equal({ kind: 'dialPlan', dialPlanId: ID.plan }),
    delete: `DELETE FROM did WHERE number = '+442079461234'`,
    deleted: (s) => expect(s.dids.has('+442079461234')).to.equal(false),
  },
  {
    table: 'registration',
    insert: `INSERT INTO registration (id, trunk_id, contact, source_address, source_port, expires_at)
             VALUES ('${ID.registration}', '${ID.trunk}', 'sip:pbx@192.168.1.10', '203.0.113.5', 5060, now() + interval '1 hour')`,
    inserted: (s) => expect(s.registrations.get(ID.trunk)?.map((b) => [b.id, b.sourcePort])).to.deep.equal([[ID.registration, 5060]]),
    update: `UPDATE registration SET source_port = 40123, updated_at = clock_timestamp() WHERE id = '${ID.registration}'`,
    updated: (s) => expect(s.registrations.get(ID.trunk)?.[0].sourcePort).to.equal(40123),
    delete: `DELETE FROM registration WHERE id = '${ID.registration}'`,
    deleted: (s) => expect(s.registrations.has(ID.trunk)).to.equal(false),
  },
];
