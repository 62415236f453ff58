import { expect } from 'chai';
import type { Client } from 'graphql-ws';
import { TRUNK_EVENT_LOCK } from '../../../worker/health/health-store';
import { SUBSCRIPTION_LIMITS } from '../../../api/subscriptions/ws-server';
import { OPERATOR_KEY, TestApi } from '../../support/api';
import { RawSocket, ResultStream, subscriptionClient, until, type Closed } from '../../support/subscriptions';

const EVENTS = `subscription ($companyId: ID!, $after: String) { trunkEvents(companyId: $companyId, after: $after) { id trunkId companyId type reason at } }`;
const STATUS = `subscription ($trunkId: ID!) {
  trunkStatus(trunkId: $trunkId) { trunkId registered registration { contact sourceAddress } health { state reason } activeCalls inFailover } }`;
const UNKNOWN = '00000000-0000-4000-8000-0000000000ff';

interface Event {
  id: string;
  trunkId: string;
  companyId: string;
  type: string;
  reason: string | null;
}
interface Status {
  trunkId: string;
  registered: boolean;
  registration: { contact: string; sourceAddress: string } | null;
  health: { state: string; reason: string | null };
  activeCalls: number;
  inFailover: boolean;
}

describe('GraphQL subscriptions over graphql-ws', () => {
  let api: TestApi;
  let a: { id: string; key: string; trunkId: string };
  let b: { id: string; key: string; trunkId: string };
  /** The hub's own watchers (the socket server's revocation and resync callbacks). */
  let baseWatchers: number;
  const clients: Client[] = [];

  function client(key: string | null, onClosed?: (closed: Closed) => void): Client {
    const made = subscriptionClient(api.server.url, key, onClosed);
    clients.push(made);
    return made;
  }

  async function company(name: string, username: string, number: string): Promise<{ id: string; key: string; trunkId: string }> {
    const made = await api.company(name);
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(made.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: made.id, name: username, sipUsername: username, sipPassword: 'long enough secret', inboundNumbers: [number], maxConcurrentCalls: 5 },
    });
    return { ...made, trunkId: createTrunk.id };
  }

  /** An event inserted the way the health store does it: under the advisory lock that orders commits. */
  function insertEvent(owner: { id: string; trunkId: string }, type = 'FAILOVER_STARTED'): Promise<string> {
    return api.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [TRUNK_EVENT_LOCK]);
      const reason = type === 'FAILOVER_STARTED' ? 'PROBES_FAILING' : null;
      const [row] = (await manager.query(`INSERT INTO trunk_event (company_id, trunk_id, type, reason) VALUES ($1, $2, $3, $4) RETURNING id::text AS id`, [
        owner.id,
        owner.trunkId,
        type,
        reason,
      ])) as { id: string }[];
      return row.id;
    });
  }

  async function keyIdOf(companyId: string): Promise<string> {
    const data = await api.ok<{ apiKeys: { edges: { node: { id: string } }[] } }>(OPERATOR_KEY, `query ($c: ID) { apiKeys(companyId: $c) { edges { node { id } } } }`, { c: companyId });
    return data.apiKeys.edges[0].node.id;
  }

  before(async () => {
    api = await TestApi.start();
    a = await company('Subscriber A', 'subs-a', '+442079467001');
    b = await company('Subscriber B', 'subs-b', '+442079467002');
    await until(() => api.server.hub.isConnected());
    baseWatchers = api.server.hub.watcherCount();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((made) => made.dispose()));
    // The server sees the sockets close a moment later; the next test counts from a clean hub.
    await until(() => api.server.hub.watcherCount() === baseWatchers && api.server.subscriptionConnections() === 0);
  });
  after(async () => {
    await api.stop();
  });

  it('refuses connection_init without a key, with a malformed header, an unknown key or a revoked key (4403)', async () => {
    const revoked = await api.company('Revoked before');
    await api.ok(OPERATOR_KEY, `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: await keyIdOf(revoked.id) });
    for (const authorization of [null, `Basic ${a.key}`, 'Bearer tfk_no-such-key-0123456789abcdefghijklmnop', `Bearer ${revoked.key}`]) {
      const socket = await RawSocket.open(api.server.url);
      socket.send({ type: 'connection_init', payload: authorization === null ? {} : { authorization } });
      expect(await socket.closed, String(authorization)).to.deep.equal({ code: 4403, reason: 'Forbidden' });
    }
    const good = await RawSocket.open(api.server.url);
    expect(await good.init(a.key)).to.equal('ack');
    good.close();
  });

  it("gives a company key NOT_FOUND for another company's trunkStatus and trunkEvents, before sending anything", async () => {
    const subscriber = client(a.key);
    for (const [query, variables] of [
      [STATUS, { trunkId: b.trunkId }],
      [STATUS, { trunkId: UNKNOWN }],
      [EVENTS, { companyId: b.id }],
      [EVENTS, { companyId: b.id, after: '0' }],
      [EVENTS, { companyId: UNKNOWN }],
    ] as const) {
      const stream = new ResultStream(subscriber, query, variables);
      const first = await stream.next();
      expect(first.data ?? null, JSON.stringify(variables)).to.equal(null);
      expect(first.errors?.map((error) => error.extensions?.code)).to.deep.equal(['NOT_FOUND']);
      await stream.end();
    }
    expect(api.server.hub.watcherCount()).to.equal(baseWatchers);
  });

  it("delivers a company's new event within one second, and not another company's", async () => {
    const stream = new ResultStream<{ trunkEvents: Event }>(client(a.key), EVENTS, { companyId: a.id });
    await until(() => api.server.hub.watcherCount() === baseWatchers + 2);
    await insertEvent(b);
    const started = Date.now();
    const id = await insertEvent(a);
    const { trunkEvents } = await stream.data(1_000);
    expect(Date.now() - started).to.be.below(1_000);
    expect(trunkEvents).to.deep.include({ id, trunkId: a.trunkId, companyId: a.id, type: 'FAILOVER_STARTED', reason: 'PROBES_FAILING' });
  });

  it('resumes with `after` with exactly the events missed while disconnected, then live ones', async () => {
    const first = client(a.key);
    const stream = new ResultStream<{ trunkEvents: Event }>(first, EVENTS, { companyId: a.id });
    await until(() => api.server.hub.watcherCount() === baseWatchers + 2);
    const seen = await insertEvent(a, 'REGISTRATION_LOST');
    expect((await stream.data()).trunkEvents.id).to.equal(seen);
    await first.dispose();
    await until(() => api.server.hub.watcherCount() === baseWatchers);
    const missed = [await insertEvent(a, 'REGISTRATION_RESTORED'), await insertEvent(b), await insertEvent(a, 'FAILOVER_ENDED')];
    const resumed = new ResultStream<{ trunkEvents: Event }>(client(a.key), EVENTS, { companyId: a.id, after: seen });
    expect((await resumed.data()).trunkEvents).to.deep.include({ id: missed[0], type: 'REGISTRATION_RESTORED' });
    expect((await resumed.data()).trunkEvents).to.deep.include({ id: missed[2], type: 'FAILOVER_ENDED' });
    for (let i = 0; i < 2; i++) {
      const live = await insertEvent(a);
      // The next one is this event, not a second copy of one sent before.
      expect((await resumed.data()).trunkEvents.id).to.equal(live);
    }
  });

  it('reads the table again after the LISTEN connection comes back, so an event whose notification was lost arrives', async () => {
    const stream = new ResultStream<{ trunkEvents: Event }>(client(a.key), EVENTS, { companyId: a.id });
    await until(() => api.server.hub.watcherCount() === baseWatchers + 2);
    // Triggers off for this transaction: the row is written and nobody is notified.
    const id = await api.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL session_replication_role = replica`);
      await manager.query('SELECT pg_advisory_xact_lock($1)', [TRUNK_EVENT_LOCK]);
      const [row] = (await manager.query(`INSERT INTO trunk_event (company_id, trunk_id, type) VALUES ($1, $2, 'REGISTRATION_LOST') RETURNING id::text AS id`, [a.id, a.trunkId])) as {
        id: string;
      }[];
      return row.id;
    });
    await api.dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'trunk-failover-api-listen' AND datname = current_database()`);
    expect((await stream.data(3_000)).trunkEvents.id).to.equal(id);
  });

  it('sends the current trunk status first, then each change within one second', async () => {
    const stream = new ResultStream<{ trunkStatus: Status }>(client(a.key), STATUS, { trunkId: a.trunkId });
    expect((await stream.data()).trunkStatus).to.deep.equal({
      trunkId: a.trunkId,
      registered: false,
      registration: null,
      health: { state: 'UNKNOWN', reason: null },
      activeCalls: 0,
      inFailover: true,
    });
    let started = Date.now();
    await api.dataSource.query(
      `INSERT INTO registration (trunk_id, contact, source_address, source_port, expires_at) VALUES ($1, 'sip:pbx@192.0.2.10:5060', '192.0.2.10', 5060, now() + interval '1 hour')`,
      [a.trunkId],
    );
    let status = (await stream.data(1_000)).trunkStatus;
    expect(Date.now() - started).to.be.below(1_000);
    expect(status).to.deep.include({ registered: true, registration: { contact: 'sip:pbx@192.0.2.10:5060', sourceAddress: '192.0.2.10:5060' }, inFailover: false });
    started = Date.now();
    await api.dataSource.query(`UPDATE trunk_health SET state = 'DOWN', reason = 'PROBES_FAILING', since = clock_timestamp() WHERE trunk_id = $1`, [a.trunkId]);
    status = (await stream.data(1_000)).trunkStatus;
    expect(Date.now() - started).to.be.below(1_000);
    expect(status).to.deep.include({ health: { state: 'DOWN', reason: 'PROBES_FAILING' }, inFailover: true });
    // Live call counts are not notified: the feed's poll finds them.
    await api.dataSource.query(`INSERT INTO trunk_load (trunk_id, node_id, active_calls, reported_at) VALUES ($1, 'node-1', 3, now())`, [a.trunkId]);
    expect((await stream.data(2_000)).trunkStatus.activeCalls).to.equal(3);
    await api.dataSource.query(`UPDATE trunk_health SET state = 'UNKNOWN', reason = NULL, since = clock_timestamp() WHERE trunk_id = $1`, [a.trunkId]);
    await api.dataSource.query(`DELETE FROM registration WHERE trunk_id = $1`, [a.trunkId]);
    await api.dataSource.query(`DELETE FROM trunk_load WHERE trunk_id = $1`, [a.trunkId]);
  });

  it('leaves no callback behind when a client stops its subscriptions or goes away', async () => {
    const subscriber = client(a.key);
    const status = new ResultStream<{ trunkStatus: Status }>(subscriber, STATUS, { trunkId: a.trunkId });
    const events = new ResultStream<{ trunkEvents: Event }>(subscriber, EVENTS, { companyId: a.id });
    await status.data();
    await until(() => api.server.hub.watcherCount() === baseWatchers + 4);
    status.stop();
    events.stop();
    await until(() => api.server.hub.watcherCount() === baseWatchers);
    const again = new ResultStream<{ trunkStatus: Status }>(subscriber, STATUS, { trunkId: a.trunkId });
    await again.data();
    expect(api.server.subscriptionConnections()).to.equal(1);
    await subscriber.dispose();
    await until(() => api.server.hub.watcherCount() === baseWatchers && api.server.subscriptionConnections() === 0);
  });

  it("closes every socket of a key when it is revoked, and of a company's keys when the company is deleted (4403)", async () => {
    const revoked = await company('Revoked', 'subs-revoked', '+442079467003');
    const deleted = await company('Deleted', 'subs-deleted', '+442079467004');
    const cases: [typeof revoked, () => Promise<unknown>][] = [
      [revoked, async () => api.ok(OPERATOR_KEY, `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: await keyIdOf(revoked.id) })],
      [deleted, () => api.ok(OPERATOR_KEY, `mutation ($id: ID!) { deleteCompany(id: $id) }`, { id: deleted.id })],
    ];
    for (const [owner, end] of cases) {
      const closes: Promise<Closed>[] = [];
      for (let i = 0; i < 2; i++) {
        let report: (closed: Closed) => void = () => undefined;
        closes.push(new Promise((resolve) => (report = resolve)));
        await new ResultStream(client(owner.key, (closed) => report(closed)), STATUS, { trunkId: owner.trunkId }).data();
      }
      const started = Date.now();
      await end();
      expect(await Promise.all(closes)).to.deep.equal([
        { code: 4403, reason: 'Forbidden' },
        { code: 4403, reason: 'Forbidden' },
      ]);
      expect(Date.now() - started).to.be.below(1_000);
    }
    await until(() => api.server.hub.watcherCount() === baseWatchers && api.server.subscriptionConnections() === 0);
  });

  describe('limits', () => {
    it(`takes a message of ${SUBSCRIPTION_LIMITS.maxPayloadBytes} bytes and closes the socket on a larger one (1009)`, async () => {
      const socket = await RawSocket.open(api.server.url);
      expect(await socket.init(a.key)).to.equal('ack');
      const ping = (bytes: number): string => {
        const frame = JSON.stringify({ type: 'ping', payload: { pad: '' } });
        return JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(bytes - frame.length) } });
      };
      socket.send(ping(SUBSCRIPTION_LIMITS.maxPayloadBytes));
      expect(await socket.message()).to.deep.include({ type: 'pong' });
      socket.send(ping(SUBSCRIPTION_LIMITS.maxPayloadBytes + 1));
      expect((await socket.closed).code).to.equal(1009);
    });

    it(`serves ${SUBSCRIPTION_LIMITS.subscriptionsPerConnection} subscriptions on one connection and refuses one more`, async () => {
      const subscriber = client(a.key);
      const streams = Array.from({ length: SUBSCRIPTION_LIMITS.subscriptionsPerConnection }, () => new ResultStream(subscriber, STATUS, { trunkId: a.trunkId }));
      for (const stream of streams) await stream.data();
      const refused = new ResultStream(subscriber, STATUS, { trunkId: a.trunkId });
      const answer = await refused.next();
      expect(answer.errors?.map((error) => [error.extensions?.code, error.extensions?.limit])).to.deep.equal([['FORBIDDEN', SUBSCRIPTION_LIMITS.subscriptionsPerConnection]]);
      streams[0].stop();
      await until(() => api.server.hub.watcherCount() === baseWatchers + 2 * (SUBSCRIPTION_LIMITS.subscriptionsPerConnection - 1));
      await new ResultStream(subscriber, STATUS, { trunkId: a.trunkId }).data();
    });

    it(`accepts ${SUBSCRIPTION_LIMITS.connectionsPerKey} connections per API key and closes one more (1008)`, async () => {
      const sockets = await Promise.all(Array.from({ length: SUBSCRIPTION_LIMITS.connectionsPerKey }, () => RawSocket.open(api.server.url)));
      expect(await Promise.all(sockets.map((socket) => socket.init(b.key)))).to.deep.equal(sockets.map(() => 'ack'));
      const extra = await RawSocket.open(api.server.url);
      expect(await extra.init(b.key)).to.deep.equal({ code: 1008, reason: `at most ${SUBSCRIPTION_LIMITS.connectionsPerKey} connections per API key` });
      // Another key is counted apart.
      const other = await RawSocket.open(api.server.url);
      expect(await other.init(a.key)).to.equal('ack');
      sockets[0].close();
      await sockets[0].closed;
      await until(() => api.server.subscriptionConnections() === SUBSCRIPTION_LIMITS.connectionsPerKey);
      const replacing = await RawSocket.open(api.server.url);
      expect(await replacing.init(b.key)).to.equal('ack');
      for (const socket of [...sockets, other, replacing]) socket.close();
      await until(() => api.server.subscriptionConnections() === 0);
    });

    it(`waits ${SUBSCRIPTION_LIMITS.connectionInitTimeoutMs} ms for connection_init, then closes the socket (4408)`, async () => {
      const [late, silent] = await Promise.all([RawSocket.open(api.server.url), RawSocket.open(api.server.url)]);
      const opened = Date.now();
      await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_LIMITS.connectionInitTimeoutMs - 500));
      expect(await late.init(a.key)).to.equal('ack');
      const closed = await silent.closed;
      expect(closed.code).to.equal(4408);
      expect(Date.now() - opened).to.be.at.least(SUBSCRIPTION_LIMITS.connectionInitTimeoutMs - 50);
      late.close();
    });

    it('applies the query limits to subscription documents and serves only subscriptions', async () => {
      const socket = await RawSocket.open(api.server.url);
      expect(await socket.init(a.key)).to.equal('ack');
      const aliases = Array.from({ length: 101 }, (_, i) => `s${i}: trunkStatus(trunkId: "${a.trunkId}") { trunkId }`).join(' ');
      socket.send({ id: '1', type: 'subscribe', payload: { query: `subscription { ${aliases} }` } });
      const tooComplex = (await socket.message()) as { id: string; type: string; payload: { extensions: { code: string; measure: string } }[] };
      expect([tooComplex.id, tooComplex.type, tooComplex.payload[0].extensions]).to.deep.equal(['1', 'error', { code: 'QUERY_TOO_COMPLEX', measure: 'aliases', figure: 101, limit: 100 }]);
      socket.send({ id: '2', type: 'subscribe', payload: { query: `{ trunk(id: "${a.trunkId}") { id } }` } });
      const refused = (await socket.message()) as { payload: { extensions: { code: string } }[] };
      expect(refused.payload.map((error) => error.extensions.code)).to.deep.equal(['BAD_REQUEST']);
      socket.close();
    });
  });
});
