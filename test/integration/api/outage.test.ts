import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { GraphQLField, GraphQLSchema } from 'graphql';
import { createDataSource } from '../../../ormconfig';
import { buildApiSchema } from '../../../api/schema';
import { startApiServer, type ApiServer } from '../../../api/server';
import { DATABASE_CONNECT_TIMEOUT_MS } from '../../../app/connect-timeout';
import { createLogger } from '../../../app/logger';
import { forwardFlow, OPERATOR_KEY, TestApi } from '../../support/api';
import type { TestDatabase } from '../../support/database';
import { argumentsFor, operationText, Samples, type Fixtures } from '../../support/operations';

interface Answer {
  status: number;
  retryAfter: string | null;
  errors: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[] | undefined;
}

const EXPECTED = '503 SERVICE_UNAVAILABLE retryAfterSeconds=5 Retry-After=5';

async function send(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: Answer['errors'] };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), errors: body.errors };
}

function operationsOf(schema: GraphQLSchema): { kind: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> }[] {
  return [
    ...Object.values(schema.getQueryType()?.getFields() ?? {}).map((field) => ({ kind: 'query' as const, field })),
    ...Object.values(schema.getMutationType()?.getFields() ?? {}).map((field) => ({ kind: 'mutation' as const, field })),
  ];
}

/** Every query and mutation with an operator key and a company key; returns those not answered as EXPECTED. */
async function sweep(url: string, schema: GraphQLSchema, fixtures: Fixtures, companyKey: string): Promise<string[]> {
  const samples = new Samples(fixtures);
  const wrong: string[] = [];
  const operations = operationsOf(schema);
  expect(operations.length).to.be.greaterThan(20);
  for (const { kind, field } of operations) {
    for (const [label, key] of [['operator', OPERATOR_KEY], ['company', companyKey]] as const) {
      const answer = await send(url, key, operationText(kind, field), argumentsFor(samples, fixtures, field));
      const error = answer.errors?.[0];
      const seen = `${answer.status} ${error?.extensions?.code} retryAfterSeconds=${error?.extensions?.retryAfterSeconds} Retry-After=${answer.retryAfter}`;
      if (seen !== EXPECTED) wrong.push(`${field.name} (${label} key): ${seen} ${error?.message}`);
    }
  }
  return wrong;
}

const COMPANIES = `{ companies { edges { node { id } } } }`;

/** A company with a key, a trunk, a dial plan and a carrier: ids for the operations to name. */
async function createFixtures(api: TestApi): Promise<{ fixtures: Fixtures; companyKey: string }> {
  const company = await api.company('Outage Co');
  const trunk = await api.ok<{ createTrunk: { id: string } }>(
    company.key,
    `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
    { input: { companyId: company.id, name: 'PBX', sipUsername: 'outage-pbx', sipPassword: 'a long enough secret', inboundNumbers: ['+442079460600'], maxConcurrentCalls: 1 } },
  );
  const plan = await api.ok<{ createDialPlan: { id: string } }>(
    company.key,
    `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`,
    { input: { companyId: company.id, name: 'Plan', internalNumber: '10', flow: forwardFlow() } },
  );
  const carrier = await api.ok<{ createCarrier: { id: string } }>(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Carrier", sourceCidrs: ["192.0.2.1"] }) { id } }`);
  const [key] = await api.dataSource.query(`SELECT id FROM api_key WHERE company_id = $1`, [company.id]);
  return {
    fixtures: { ids: { Company: company.id, Trunk: trunk.createTrunk.id, DialPlan: plan.createDialPlan.id, Carrier: carrier.createCarrier.id, ApiKey: key.id } },
    companyKey: company.key,
  };
}

/**
 * A database outage, made real. Every operation, with an operator key (checked in memory) and
 * with a company key (looked up in the database), must get the same answer: HTTP 503,
 * SERVICE_UNAVAILABLE, a retry hint; and answer normally once the database is back.
 */
describe('a database outage answers SERVICE_UNAVAILABLE for every key', function () {
  this.timeout(60_000);
  let schema: GraphQLSchema;
  before(async () => {
    schema = await buildApiSchema();
  });

  describe('the database stops accepting connections and its sessions are terminated', () => {
    let api: TestApi;
    let admin: Client;
    let fixtures: Fixtures;
    let companyKey: string;

    async function setConnections(allowed: boolean): Promise<void> {
      const name = api.database.name;
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${allowed}`);
      if (!allowed) await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
    }

    before(async () => {
      api = await TestApi.start();
      const adminUrl = new URL(api.database.url);
      adminUrl.pathname = '/postgres';
      admin = new Client({ connectionString: adminUrl.toString() });
      await admin.connect();
      ({ fixtures, companyKey } = await createFixtures(api));
    });
    after(async () => {
      await setConnections(true);
      await admin.end();
      await api.stop();
    });

    it('answers every operation alike for both keys, then recovers', async () => {
      expect((await send(api.server.url, companyKey, COMPANIES)).status).to.equal(200);
      await setConnections(false);
      expect(await sweep(api.server.url, schema, fixtures, companyKey)).to.deep.equal([]);
      await setConnections(true);
      for (const key of [OPERATOR_KEY, companyKey]) {
        const answer = await send(api.server.url, key, COMPANIES);
        expect([answer.status, answer.errors]).to.deep.equal([200, undefined]);
      }
    });

    it('answers /healthz with 503', async () => {
      await setConnections(false);
      try {
        expect((await fetch(api.server.url.replace(/\/graphql$/, '/healthz'))).status).to.equal(503);
      } finally {
        await setConnections(true);
      }
    });
  });

  describe('the database host goes away (connections cut, then refused)', () => {
    let api: TestApi;
    let database: TestDatabase;
    let proxy: Server;
    let sockets: Set<Socket>;
    let dataSource: DataSource;
    let server: ApiServer;
    let fixtures: Fixtures;
    let companyKey: string;
    const log: string[] = [];

    /** Set: new connections are accepted and never answered, as by a host that drops packets. */
    let silent = false;

    /** A TCP relay in front of PostgreSQL: closing it cuts open connections and refuses new ones. */
    async function openProxy(port: number, target: URL): Promise<void> {
      sockets = new Set();
      proxy = createServer((client) => {
        if (silent) {
          sockets.add(client);
          client.on('close', () => sockets.delete(client));
          client.on('error', () => client.destroy());
          client.resume();
          return;
        }
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    }

    async function closeProxy(): Promise<void> {
      const closed = new Promise((resolve) => proxy.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    }

    before(async () => {
      // Fixtures go in through an ordinary test API; the API under test reaches the same database through the relay.
      api = await TestApi.start();
      ({ fixtures, companyKey } = await createFixtures(api));
      database = api.database;
      await openProxy(0, new URL(database.url));
      const viaProxy = new URL(database.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String((proxy.address() as AddressInfo).port);
      dataSource = createDataSource({ url: viaProxy.toString(), poolSize: 3 });
      await dataSource.initialize();
      server = await startApiServer({ dataSource, schema, logger: createLogger('warn', { write: (line: string) => void log.push(line) }), host: '127.0.0.1', port: 0, sipRealm: 'trunks.test', operatorApiKey: OPERATOR_KEY });
    });
    after(async () => {
      await server.stop();
      await dataSource.destroy().catch(() => undefined);
      if (proxy.listening) await closeProxy();
      await api.stop();
    });

    it('answers every operation alike for both keys, then recovers', async () => {
      // Warm the pool, so there are open connections to cut.
      await Promise.all([OPERATOR_KEY, companyKey, OPERATOR_KEY].map((key) => send(server.url, key, COMPANIES)));
      const port = (proxy.address() as AddressInfo).port;
      await closeProxy();
      expect(await sweep(server.url, schema, fixtures, companyKey)).to.deep.equal([]);
      const kinds = new Set(log.map((line) => (JSON.parse(line) as { msg: string }).msg));
      // The subscriptions' LISTEN connection is cut too: one warning, its retries below that level.
      expect([...kinds].sort()).to.deep.equal([
        'database unreachable: API key not checked, answered SERVICE_UNAVAILABLE',
        'database unreachable: answered SERVICE_UNAVAILABLE',
        'subscription notifications not connected: retrying',
      ]);
      expect(log.some((line) => line.includes('"code":"ECONNREFUSED"'))).to.equal(true);
      await openProxy(port, new URL(database.url));
      for (const key of [OPERATOR_KEY, companyKey]) {
        const answer = await send(server.url, key, COMPANIES);
        expect([answer.status, answer.errors]).to.deep.equal([200, undefined]);
      }
    });

    it('a host that stops answering: SERVICE_UNAVAILABLE once the connect timeout ends, not after the TCP timeout', async () => {
      const port = (proxy.address() as AddressInfo).port;
      await closeProxy();
      silent = true;
      await openProxy(port, new URL(database.url));
      const began = Date.now();
      const answers = await Promise.all([OPERATOR_KEY, companyKey].map((key) => send(server.url, key, COMPANIES)));
      const waitedMs = Date.now() - began;
      for (const answer of answers) expect(answer.errors?.[0]?.extensions?.code).to.equal('SERVICE_UNAVAILABLE');
      expect(waitedMs).to.be.within(DATABASE_CONNECT_TIMEOUT_MS - 500, 30_000);
    });
  });
});
