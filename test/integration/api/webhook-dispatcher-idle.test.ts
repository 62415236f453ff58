import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../../api/webhook-endpoint/webhook-dispatcher';
import { createLogger } from '../../../app/logger';
import { createDataSource } from '../../../ormconfig';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const POLL_MS = 200;
const WATCH_MS = 1_000;

/** The dispatcher's DataSource with its `query` calls counted. */
function counting(dataSource: DataSource, counts: { queries: number }): DataSource {
  return new Proxy(dataSource, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: Parameters<DataSource['query']>) => {
          counts.queries++;
          return target.query(...args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

describe('webhook dispatcher with nothing to deliver (api/webhook-endpoint)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let dispatcher: WebhookDispatcher | null = null;

  before(async () => {
    database = await createTestDatabase();
    dataSource = createDataSource({ url: database.url, poolSize: 2 });
    await dataSource.initialize();
  });

  after(async () => {
    await dispatcher?.stop();
    await dataSource.destroy();
    await database.drop();
  });

  it(`waits for its poll (${POLL_MS} ms) between cycles instead of querying in a loop`, async () => {
    const counts = { queries: 0 };
    dispatcher = startWebhookDispatcher(counting(dataSource, counts), createLogger('silent'), { pollMs: POLL_MS });
    await sleep(WATCH_MS);
    // A cycle is a claim and a next-due query: the first cycle plus one per poll, with one poll to spare.
    const cycles = WATCH_MS / POLL_MS + 2;
    expect(counts.queries).to.be.at.most(2 * cycles);
    expect(counts.queries).to.be.at.least(2);
  });
});
