import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { MAX_WEBHOOK_URL_CHARS } from '../../../domain/webhook';
import { MAX_WEBHOOK_ENDPOINTS_PER_COMPANY } from '../../../api/webhook-endpoint/webhook-endpoint.service';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id companyId url events createdAt } secret } }`;
const DELIVERIES = `query ($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) {
  edges { node { eventId status attemptCount attempts { at status error latencyMs } } } } }`;
const DELETE = `mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
const SET_NETWORKS = `mutation ($cidrs: [String!]!) { setWebhookAllowedNetworks(cidrs: $cidrs) }`;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Delivery {
  eventId: string;
  status: string;
  attemptCount: number;
  attempts: { at: string; status: number | null; error: string | null; latencyMs: number }[];
}

/** A loopback receiver answering each request with the next status of its script (then 200). */
class Receiver {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const wake of this.waiters.splice(0)) wake();
      void this.gate.then(() => response.writeHead(this.script.shift() ?? 200).end());
    });
  });
  /** `gate`: every answer waits for it. */
  constructor(
    private readonly script: number[] = [],
    private readonly gate: Promise<void> = Promise.resolve(),
  ) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/trunks`;
  }
  /** Resolves once `count` requests have arrived. */
  async requests(count: number): Promise<Received[]> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The check the README shows a receiver: HMAC-SHA256 of "<t>.<body>" under the secret, compared in constant time. */
function verify(secret: string, header: string, body: string): boolean {
  const { t, v1 } = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return v1 !== undefined && v1.length === expected.length && timingSafeEqual(Buffer.from(v1), Buffer.from(expected));
}

describe('webhook endpoints for trunk events (api/webhook-endpoint)', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let trunkId: string;
  let serial = 0;

  before(async () => {
    api = await TestApi.start({ webhookDelivery: { backoff: { initialMs: 100, maxMs: 400 }, pollMs: 200 } });
    await api.ok(OPERATOR_KEY, SET_NETWORKS, { cidrs: ['127.0.0.0/8'] });
    company = await api.company('Acme');
    trunkId = await trunk(company);
  });

  after(async () => {
    await api.stop();
  });

  async function trunk(owner: { id: string; key: string }): Promise<string> {
    serial++;
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(owner.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: owner.id, name: `PBX ${serial}`, sipUsername: `wh-pbx-${serial}`, sipPassword: 'correct horse battery staple', inboundNumbers: [`+44207946${String(5000 + serial)}`], maxConcurrentCalls: 5 },
    });
    return createTrunk.id;
  }

  async function endpoint(url: string, events = ['FAILOVER_STARTED', 'FAILOVER_ENDED']): Promise<{ id: string; secret: string }> {
    const { createWebhookEndpoint } = await api.ok<{ createWebhookEndpoint: { endpoint: { id: string }; secret: string } }>(company.key, CREATE, {
      input: { companyId: company.id, url, events },
    });
    return { id: createWebhookEndpoint.endpoint.id, secret: createWebhookEndpoint.secret };
  }

  /** Inserts an event as the health machine does; the database queues its deliveries. */
  async function event(type = 'FAILOVER_STARTED', reason: string | null = 'PROBES_FAILING'): Promise<{ id: string; at: Date }> {
    const [row] = (await api.dataSource.query(
      `INSERT INTO trunk_event (company_id, trunk_id, type, reason) VALUES ($1, $2, $3, $4) RETURNING id::text AS id, at`,
      [company.id, trunkId, type, reason],
    )) as { id: string; at: Date }[];
    return row;
  }

  async function deliveries(endpointId: string): Promise<Delivery[]> {
    const data = await api.ok<{ webhookDeliveries: { edges: { node: Delivery }[] } }>(company.key, DELIVERIES, { id: endpointId });
    return data.webhookDeliveries.edges.map((edge) => edge.node);
  }

  /** The attempt is recorded just after the receiver answers: re-read until it shows. */
  async function deliveryWhen(endpointId: string, done: (delivery: Delivery) => boolean): Promise<Delivery> {
    for (;;) {
      const [delivery] = await deliveries(endpointId);
      if (delivery !== undefined && done(delivery)) return delivery;
      await sleep(20);
    }
  }

  it('POSTs the event as JSON signed with the secret shown once, which a loopback receiver verifies', async () => {
    const receiver = new Receiver();
    const hook = await endpoint(await receiver.start());
    try {
      const inserted = await event();
      const [request] = await receiver.requests(1);
      expect(JSON.parse(request.body)).to.deep.equal({
        id: inserted.id, trunkId, companyId: company.id, type: 'FAILOVER_STARTED', reason: 'PROBES_FAILING', at: new Date(inserted.at).toISOString(),
      });
      expect(request.headers['content-type']).to.equal('application/json');
      const signature = String(request.headers['x-signature']);
      expect(signature).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verify(hook.secret, signature, request.body)).to.equal(true);
      expect(verify(`${hook.secret}x`, signature, request.body)).to.equal(false);
      const delivered = await deliveryWhen(hook.id, (delivery) => delivery.status === 'DELIVERED');
      expect(delivered).to.include({ eventId: inserted.id, attemptCount: 1 });
      expect(delivered.attempts).to.have.length(1);
      expect(delivered.attempts[0]).to.include({ status: 200, error: null });
      // The secret left the API once, in the creation's answer, and never reached a log line.
      expect(api.transcript.filter((text) => text.includes(hook.secret))).to.have.length(1);
    } finally {
      await api.ok(company.key, DELETE, { id: hook.id });
      await receiver.stop();
    }
  });

  it('posts only the event types asked for', async () => {
    const receiver = new Receiver();
    const hook = await endpoint(await receiver.start(), ['REGISTRATION_LOST']);
    try {
      await event('FAILOVER_ENDED', null);
      const lost = await event('REGISTRATION_LOST', 'NOT_REGISTERED');
      const [request] = await receiver.requests(1);
      expect(JSON.parse(request.body)).to.include({ id: lost.id, type: 'REGISTRATION_LOST' });
      const rows = (await api.dataSource.query(`SELECT event_id::text AS id FROM webhook_delivery WHERE endpoint_id = $1`, [hook.id])) as { id: string }[];
      expect(rows.map((row) => row.id)).to.deep.equal([lost.id]);
    } finally {
      await api.ok(company.key, DELETE, { id: hook.id });
      await receiver.stop();
    }
  });

  it('a receiver failing 3 times gets the event on the 4th try, once, though the API is stopped and started between tries', async () => {
    const receiver = new Receiver([500, 503, 500]);
    const hook = await endpoint(await receiver.start());
    try {
      const inserted = await event();
      await receiver.requests(2);
      await api.stopServer();
      const [queued] = (await api.dataSource.query(`SELECT status, attempts FROM webhook_delivery WHERE endpoint_id = $1`, [hook.id])) as { status: string; attempts: number }[];
      expect(queued).to.deep.equal({ status: 'PENDING', attempts: 2 });
      await api.startServer();
      const received = await receiver.requests(4);
      const delivered = await deliveryWhen(hook.id, (delivery) => delivery.status === 'DELIVERED');
      expect(delivered.eventId).to.equal(inserted.id);
      expect(delivered.attemptCount).to.equal(4);
      expect(delivered.attempts.map((attempt) => attempt.status)).to.deep.equal([500, 503, 500, 200]);
      for (const attempt of delivered.attempts) expect(attempt.latencyMs).to.be.within(0, 5000);
      expect(received).to.have.length(4);
      expect(new Set(received.map((request) => request.body)).size).to.equal(1);
    } finally {
      await api.ok(company.key, DELETE, { id: hook.id });
      await receiver.stop();
    }
  });

  it('a delivery leased by a node that died is delivered by another once the lease runs out', async () => {
    const receiver = new Receiver();
    const hook = await endpoint(await receiver.start());
    try {
      await api.stopServer();
      await event();
      const [[lease]] = (await api.dataSource.query(
        `UPDATE webhook_delivery SET leased_by = 'a node that died', leased_until = clock_timestamp() + interval '300 milliseconds'
          WHERE endpoint_id = $1 RETURNING leased_until`,
        [hook.id],
      )) as [{ leased_until: Date }[], number];
      await api.startServer();
      await receiver.requests(1);
      const delivered = await deliveryWhen(hook.id, (delivery) => delivery.status === 'DELIVERED');
      expect(delivered.attemptCount).to.equal(1);
      expect(new Date(delivered.attempts[0].at).getTime()).to.be.at.least(new Date(lease.leased_until).getTime());
    } finally {
      await api.ok(company.key, DELETE, { id: hook.id });
      await receiver.stop();
    }
  });

  it('records a destination outside the allowed networks as a failed attempt, without a request', async () => {
    const receiver = new Receiver();
    const hook = await endpoint(await receiver.start());
    try {
      await api.ok(OPERATOR_KEY, SET_NETWORKS, { cidrs: [] });
      await event();
      const refused = await deliveryWhen(hook.id, (delivery) => delivery.attempts.length > 0);
      expect(refused.status).to.equal('PENDING');
      expect(refused.attempts[0].status).to.equal(null);
      expect(refused.attempts[0].error).to.match(/^REFUSED_DESTINATION: 127\.0\.0\.1: loopback/);
      expect(receiver.received).to.have.length(0);
    } finally {
      await api.ok(OPERATOR_KEY, SET_NETWORKS, { cidrs: ['127.0.0.0/8'] });
      await api.ok(company.key, DELETE, { id: hook.id });
      await receiver.stop();
    }
  });

  it('refuses a URL that is not http(s) or whose address literal is not allowed', async () => {
    for (const url of ['ftp://127.0.0.1/x', 'http://10.0.0.1/hook', 'http://[::1]/hook', 'not a url', 'http://user:pw@127.0.0.1/']) {
      expect(await api.errorCode(company.key, CREATE, { input: { companyId: company.id, url, events: ['FAILOVER_STARTED'] } }), url).to.equal('BAD_USER_INPUT');
    }
    expect(await api.errorCode(company.key, CREATE, { input: { companyId: company.id, url: 'https://hooks.example.com/x', events: [] } })).to.equal('BAD_USER_INPUT');
    expect(await api.errorCode(company.key, CREATE, { input: { companyId: company.id, url: 'https://hooks.example.com/x', events: ['FAILOVER_ENDED', 'FAILOVER_ENDED'] } })).to.equal('BAD_USER_INPUT');
  });

  it(`takes a URL of ${MAX_WEBHOOK_URL_CHARS} characters and ${MAX_WEBHOOK_ENDPOINTS_PER_COMPANY} endpoints per company, and refuses one more of either`, async () => {
    const owner = await api.company('Limits');
    const create = (url: string): Promise<string | undefined> => api.errorCode(owner.key, CREATE, { input: { companyId: owner.id, url, events: ['FAILOVER_STARTED'] } });
    const base = 'https://hooks.example.com/';
    const longest = `${base}${'a'.repeat(MAX_WEBHOOK_URL_CHARS - base.length)}`;
    expect(await create(`${longest}a`)).to.equal('BAD_USER_INPUT');
    await api.ok(owner.key, CREATE, { input: { companyId: owner.id, url: longest, events: ['FAILOVER_STARTED'] } });
    for (let n = 1; n < MAX_WEBHOOK_ENDPOINTS_PER_COMPANY; n++) {
      await api.ok(owner.key, CREATE, { input: { companyId: owner.id, url: `${base}${n}`, events: ['FAILOVER_STARTED'] } });
    }
    expect(await create(`${base}one-more`)).to.equal('BAD_USER_INPUT');
    const listed = await api.ok<{ webhookEndpoints: { url: string }[] }>(owner.key, `query ($id: ID!) { webhookEndpoints(companyId: $id) { url } }`, { id: owner.id });
    expect(listed.webhookEndpoints).to.have.length(MAX_WEBHOOK_ENDPOINTS_PER_COMPANY);
    expect(listed.webhookEndpoints[0].url).to.equal(longest);
  });

  it('is scoped to the company: other companies get NOT_FOUND for every operation', async () => {
    const other = await api.company('Other');
    const hook = await endpoint('https://hooks.example.com/trunks');
    const input = { companyId: company.id, url: 'https://hooks.example.com/x', events: ['FAILOVER_STARTED'] };
    expect(await api.errorCode(other.key, CREATE, { input })).to.equal('NOT_FOUND');
    expect(await api.errorCode(other.key, `query ($id: ID!) { webhookEndpoints(companyId: $id) { id } }`, { id: company.id })).to.equal('NOT_FOUND');
    expect(await api.errorCode(other.key, DELIVERIES, { id: hook.id })).to.equal('NOT_FOUND');
    expect(await api.errorCode(other.key, DELETE, { id: hook.id })).to.equal('NOT_FOUND');
    const listed = await api.ok<{ webhookEndpoints: { id: string; url: string }[] }>(OPERATOR_KEY, `query ($id: ID!) { webhookEndpoints(companyId: $id) { id url } }`, { id: company.id });
    expect(listed.webhookEndpoints.map((row) => row.id)).to.include(hook.id);
  });

  it('a deleted endpoint is gone and gets no more deliveries', async () => {
    const hook = await endpoint('https://hooks.example.com/deleted');
    await api.ok(company.key, DELETE, { id: hook.id });
    await event();
    const listed = await api.ok<{ webhookEndpoints: { id: string }[] }>(company.key, `query ($id: ID!) { webhookEndpoints(companyId: $id) { id } }`, { id: company.id });
    expect(listed.webhookEndpoints.map((row) => row.id)).to.not.include(hook.id);
    expect(await api.errorCode(company.key, DELIVERIES, { id: hook.id })).to.equal('NOT_FOUND');
    const [{ count }] = (await api.dataSource.query(`SELECT count(*)::int AS count FROM webhook_delivery WHERE endpoint_id = $1`, [hook.id])) as { count: number }[];
    expect(count).to.equal(0);
  });

  it('an endpoint deleted while an attempt is out stays FAILED: the attempt is recorded and never retried', async () => {
    let open = (): void => undefined;
    const receiver = new Receiver([500], new Promise<void>((resolve) => (open = resolve)));
    const hook = await endpoint(await receiver.start());
    try {
      await event();
      await receiver.requests(1);
      await api.ok(company.key, DELETE, { id: hook.id });
      open();
      // The backoff is 100 to 400 ms and the poll 200 ms: a retry would come well within this.
      await sleep(1_500);
      expect(receiver.received).to.have.length(1);
      const rows = (await api.dataSource.query(
        `SELECT d.status, d.last_error, (SELECT count(*)::int FROM webhook_attempt a WHERE a.delivery_id = d.id) AS attempts FROM webhook_delivery d WHERE d.endpoint_id = $1`,
        [hook.id],
      )) as { status: string; last_error: string; attempts: number }[];
      expect(rows).to.deep.equal([{ status: 'FAILED', last_error: 'endpoint deleted', attempts: 1 }]);
    } finally {
      await receiver.stop();
    }
  });
});
