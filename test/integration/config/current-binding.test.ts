import { expect } from 'chai';
import { Client } from 'pg';
import { loadSnapshot } from '../../../worker/config/load';
import { currentBinding } from '../../../worker/routing/decide';
import { OPERATOR_KEY, TestApi } from '../../support/api';

/**
 * "The current binding of a trunk" has one meaning: the unexpired binding refreshed last
 * (domain/registration.ts). The API shows the binding routing sends calls to.
 */
describe('current binding: the API shows the one routing picks', () => {
  let api: TestApi;
  let db: Client;
  let company: { id: string; key: string };

  before(async () => {
    api = await TestApi.start();
    db = new Client({ connectionString: api.database.url });
    await db.connect();
    company = await api.company('Bindings');
  });
  after(async () => {
    await db.end();
    await api.stop();
  });

  async function trunk(username: string): Promise<string> {
    const created = await api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: company.id, name: username, sipUsername: username, sipPassword: 'a long enough password', inboundNumbers: [], maxConcurrentCalls: 5 },
    });
    return created.createTrunk.id;
  }

  async function insert(trunkId: string, contact: string, updatedAt: string, expiresAt: string, id = 'gen_random_uuid()'): Promise<void> {
    await db.query(
      `INSERT INTO registration (id, trunk_id, contact, source_address, source_port, expires_at, updated_at)
       VALUES (${id}, $1, $2, '203.0.113.7', 5060, ${expiresAt}, ${updatedAt})`,
      [trunkId, contact],
    );
  }

  async function both(trunkId: string): Promise<{ api: string | null; routing: string | null }> {
    const read = await api.ok<{ trunk: { registration: { contact: string } | null } }>(OPERATOR_KEY, `query ($id: ID!) { trunk(id: $id) { registration { contact } } }`, { id: trunkId });
    const snapshot = await loadSnapshot(db, 1);
    return { api: read.trunk.registration?.contact ?? null, routing: currentBinding(snapshot, trunkId, Date.now())?.contact ?? null };
  }

  it('is the binding refreshed last, even when an older one expires later', async () => {
    const trunkId = await trunk('moved-pbx');
    // The PBX registered for an hour from its old address, then moved and registers for two minutes.
    await insert(trunkId, 'sip:pbx@old.example', `now() - interval '10 minutes'`, `now() + interval '50 minutes'`);
    await insert(trunkId, 'sip:pbx@new.example', `now() - interval '5 seconds'`, `now() + interval '115 seconds'`);
    await insert(trunkId, 'sip:pbx@expired.example', `now()`, `now() - interval '1 second'`);
    expect(await both(trunkId)).to.deep.equal({ api: 'sip:pbx@new.example', routing: 'sip:pbx@new.example' });
  });

  it('breaks a tie within the same millisecond by the lower id on both sides', async () => {
    const trunkId = await trunk('tied-pbx');
    // 0.8 ms apart in PostgreSQL, the same millisecond in the snapshot.
    await insert(trunkId, 'sip:pbx@later-high-id.example', `'2030-01-01T10:00:00.123900Z'`, `now() + interval '1 hour'`, `'ffffffff-0000-4000-8000-000000000000'`);
    await insert(trunkId, 'sip:pbx@earlier-low-id.example', `'2030-01-01T10:00:00.123100Z'`, `now() + interval '1 hour'`, `'00000000-0000-4000-8000-000000000000'`);
    expect(await both(trunkId)).to.deep.equal({ api: 'sip:pbx@earlier-low-id.example', routing: 'sip:pbx@earlier-low-id.example' });
  });

  it('is none when every binding has expired', async () => {
    const trunkId = await trunk('gone-pbx');
    await insert(trunkId, 'sip:pbx@gone.example', `now() - interval '2 hours'`, `now() - interval '1 hour'`);
    expect(await both(trunkId)).to.deep.equal({ api: null, routing: null });
  });
});
