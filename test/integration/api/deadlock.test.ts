import { expect } from 'chai';
import { Client } from 'pg';
import { TestApi, TRUNK_FIELDS } from '../../support/api';

/** The advisory lock the test holds to hold both transactions just before their inserts. */
const BARRIER = 0x5357_4150;

const UPDATE = `mutation ($id: ID!, $input: UpdateTrunkInput!) { updateTrunk(id: $id, input: $input) { ${TRUNK_FIELDS} } }`;

/**
 * Two trunks swapping numbers at once: each transaction deletes its own number, then inserts the
 * other's, whose row the other transaction has deleted but not committed; each waits for the
 * other and PostgreSQL aborts one with deadlock_detected (40P01). A trigger on `did` makes both
 * wait at a barrier just before the insert, so the interleaving happens on every run.
 *
 * Neither swap can commit on its own (each needs the other's delete committed first), so once the
 * deadlock is broken the right answers are two CONFLICTs naming the number, from the survivor and
 * from the victim's second attempt; before the retry, the victim got INTERNAL_SERVER_ERROR.
 */
describe('a deadlock between two mutations is retried', function () {
  this.timeout(30_000);
  let api: TestApi;
  let barrier: Client;
  before(async () => {
    api = await TestApi.start();
    await api.dataSource.query(`CREATE FUNCTION test_barrier() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock_shared(${BARRIER}); RETURN NEW; END $$`);
    await api.dataSource.query(`CREATE TRIGGER test_barrier BEFORE INSERT ON did FOR EACH ROW EXECUTE FUNCTION test_barrier()`);
    barrier = new Client({ connectionString: api.database.url });
    await barrier.connect();
  });
  after(async () => {
    await barrier.end();
    await api.stop();
  });

  async function deadlocks(): Promise<number> {
    await barrier.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await barrier.query<{ deadlocks: number }>(`SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()`);
    return rows[0].deadlocks;
  }

  async function waitersAtBarrier(): Promise<number> {
    const { rows } = await barrier.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
      [BARRIER],
    );
    return rows[0].waiting;
  }

  it('two trunks swapping numbers concurrently: the deadlock victim is retried, both answer CONFLICT', async () => {
    const company = await api.company('Swap Co');
    const create = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`;
    const trunk = async (username: string, number: string): Promise<string> =>
      (
        await api.ok<{ createTrunk: { id: string } }>(company.key, create, {
          input: { companyId: company.id, name: username, sipUsername: username, sipPassword: 'a long enough secret', inboundNumbers: [number], maxConcurrentCalls: 1 },
        })
      ).createTrunk.id;
    const first = await trunk('swap-one', '+442079460501');
    const second = await trunk('swap-two', '+442079460502');

    const deadlocksBefore = await deadlocks();
    await barrier.query('SELECT pg_advisory_lock($1)', [BARRIER]);
    const swaps = [
      api.request(company.key, UPDATE, { id: first, input: { inboundNumbers: ['+442079460502'] } }),
      api.request(company.key, UPDATE, { id: second, input: { inboundNumbers: ['+442079460501'] } }),
    ];
    const deadline = Date.now() + 10_000;
    while ((await waitersAtBarrier()) < 2) {
      if (Date.now() > deadline) throw new Error('the two swaps never met at the barrier');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await barrier.query('SELECT pg_advisory_unlock($1)', [BARRIER]);
    const results = await Promise.all(swaps);

    expect(results.map((result) => result.errors?.[0].extensions?.code ?? 'ok')).to.deep.equal(['CONFLICT', 'CONFLICT']);
    expect(results[0].errors?.[0].message).to.equal('number +442079460502 is already in use on the platform');
    expect(results[1].errors?.[0].message).to.equal('number +442079460501 is already in use on the platform');
    expect(api.transcript.join('\n')).not.to.include('unexpected error in a GraphQL operation');
    // The deadlock did happen (statistics reach pg_stat_database within a second or so).
    const statsDeadline = Date.now() + 5_000;
    while ((await deadlocks()) === deadlocksBefore && Date.now() < statsDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await deadlocks()).to.equal(deadlocksBefore + 1);

    // Nothing changed, and the swap done in two steps through a spare number works.
    const numbers = async (): Promise<{ number: string; trunk_id: string }[]> =>
      api.dataSource.query(`SELECT number, trunk_id FROM did WHERE trunk_id = ANY($1) ORDER BY number`, [[first, second]]);
    expect(await numbers()).to.deep.equal([
      { number: '+442079460501', trunk_id: first },
      { number: '+442079460502', trunk_id: second },
    ]);
    await api.ok(company.key, UPDATE, { id: first, input: { inboundNumbers: [] } });
    await api.ok(company.key, UPDATE, { id: second, input: { inboundNumbers: ['+442079460501'] } });
    await api.ok(company.key, UPDATE, { id: first, input: { inboundNumbers: ['+442079460502'] } });
    expect(await numbers()).to.deep.equal([
      { number: '+442079460501', trunk_id: second },
      { number: '+442079460502', trunk_id: first },
    ]);
  });
});
