import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { Client } from 'pg';
import { MAX_PENDING_REGISTRATIONS, NotificationHub } from '../../../api/subscriptions/notification-hub';
import { createLogger } from '../../../app/logger';
import { CONFIG_CHANNEL } from '../../../schema/config-change';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const TRUNK = '00000000-0000-4000-8000-0000000000b1';

/**
 * A registration's nudge names the binding, not its trunk, so the hub looks the trunk up. A burst of
 * REGISTERs nudges faster than one query per nudge could keep up with: the lookups are batched, one
 * query at a time, and past MAX_PENDING_REGISTRATIONS every watched trunk simply re-reads.
 */
describe('NotificationHub: registration nudges (api/subscriptions)', () => {
  let database: TestDatabase;
  let hub: NotificationHub | null = null;
  const clients: Client[] = [];

  before(async () => {
    database = await createTestDatabase();
  });

  after(async () => {
    await hub?.stop();
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await database.drop();
  });

  async function connected(): Promise<Client> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  /** Sends `count` registration nudges in one transaction: they arrive together. */
  async function nudge(count: number): Promise<void> {
    const client = await connected();
    await client.query(
      `SELECT pg_notify($1, json_build_object('table', 'registration', 'id', gen_random_uuid()::text, 'op', 'UPDATE')::text) FROM generate_series(1, $2::int)`,
      [CONFIG_CHANNEL, count],
    );
  }

  it('looks up a burst of nudges in a few batched queries, not one each, and wakes the watched trunk', async () => {
    const lookups: number[] = [];
    hub = new NotificationHub({
      logger: createLogger('silent'),
      connect: async () => {
        const client = await connected();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].includes('FROM registration')) {
            const first = (args[1] as unknown[])[0];
            lookups.push(Array.isArray(first) ? first.length : 1);
          }
          return query(...args);
        };
        return client;
      },
    });
    let woken = 0;
    hub.onTrunk(TRUNK, () => woken++);
    hub.start();
    for (let i = 0; i < 100 && !hub.isConnected(); i++) await sleep(20);
    await sleep(100);
    await nudge(300);
    for (let i = 0; i < 100 && lookups.reduce((sum, n) => sum + n, 0) < 300; i++) await sleep(20);
    expect(lookups.reduce((sum, n) => sum + n, 0)).to.equal(300, 'every nudge looked up');
    expect(lookups.length).to.be.below(30, `${lookups.length} queries for 300 nudges`);
    expect(woken).to.be.at.least(1, 'bindings not found: every watched trunk re-reads');

    const before = lookups.length;
    woken = 0;
    await nudge(MAX_PENDING_REGISTRATIONS * 2);
    await sleep(500);
    expect(woken).to.be.at.least(1);
    expect(lookups.length - before).to.be.below(30, 'past the bound, nudges wake every trunk without a query each');
  });
});
