import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { webhookExit } from '../../domain/webhook';
import type { Clock, Timer } from '../../worker/clock';
import { createWebhookClient, type Resolve, type WebhookRequest } from '../../net/webhook-client';

type Handler = (request: http.IncomingMessage, body: string, response: http.ServerResponse) => void;

/** A loopback HTTP server recording what reached it. */
class HookServer {
  readonly received: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  handler: Handler = (_request, _body, response) => response.end();
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      this.handler(request, body, response);
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A clock whose timers fire only when the test says so; `now` is fixed. */
class ManualClock implements Clock {
  private pending: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  constructor(private readonly nowMs: number) {}
  now(): number {
    return this.nowMs;
  }
  after(ms: number, fn: () => void): Timer {
    const entry = { ms, fn, cancelled: false };
    this.pending.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }
  fire(): number[] {
    const due = this.pending.filter((entry) => !entry.cancelled);
    this.pending = [];
    for (const entry of due) entry.fn();
    return due.map((entry) => entry.ms);
  }
  get armed(): number {
    return this.pending.filter((entry) => !entry.cancelled).length;
  }
}

const LOOPBACK = ['127.0.0.0/8'];
const BODY = '{"callId":"c1","did":"+442079460000"}';

describe('webhook client against a loopback server', function () {
  this.timeout(5000);
  const server = new HookServer();
  let clock: ManualClock;
  let resolverCalls: string[];
  const resolveTo =
    (addresses: string[]): Resolve =>
    (hostname) => {
      resolverCalls.push(hostname);
      return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const));
    };
  const request = (overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
    url: `http://127.0.0.1:${server.port}/route?x=1`,
    timeoutSeconds: 3,
    secret: null,
    body: BODY,
    allowedCidrs: LOOPBACK,
    ...overrides,
  });

  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => {
    server.received.length = 0;
    server.handler = (_request, _body, response) => response.end();
    clock = new ManualClock(1_780_000_000_123);
    resolverCalls = [];
  });

  it('posts the body and takes the exit the answer names', async () => {
    server.handler = (_request, _body, response) => response.setHeader('content-type', 'application/json').end('{"exit":"sales"}');
    const answer = await createWebhookClient({ clock }).send(request());
    expect(answer).to.deep.equal({ kind: 'answer', status: 200, body: '{"exit":"sales"}' });
    expect(webhookExit(answer, ['sales']).exit).to.equal('sales');
    expect(server.received).to.have.length(1);
    expect(server.received[0]).to.include({ method: 'POST', url: '/route?x=1', body: BODY });
    expect(server.received[0].headers['content-type']).to.equal('application/json');
    expect(server.received[0].headers['x-signature']).to.equal(undefined);
    expect(clock.armed).to.equal(0, 'the timeout is cancelled once answered');
  });

  it('signs the request when a secret is set', async () => {
    const secret = 'whsec_0123456789abcdef';
    await createWebhookClient({ clock }).send(request({ secret }));
    const v1 = createHmac('sha256', secret).update(`1780000000.${BODY}`).digest('hex');
    expect(server.received[0].headers['x-signature']).to.equal(`t=1780000000,v1=${v1}`);
  });

  it('takes success on a 2xx without exit', async () => {
    server.handler = (_request, _body, response) => response.writeHead(204).end();
    const answer = await createWebhookClient({ clock }).send(request());
    expect(answer).to.deep.equal({ kind: 'answer', status: 204, body: '' });
    expect(webhookExit(answer, ['sales']).exit).to.equal('success');
  });

  it('takes failure on a 500, without reading its body', async () => {
    server.handler = (_request, _body, response) => response.writeHead(500).end('{"exit":"sales"}');
    const answer = await createWebhookClient({ clock }).send(request());
    expect(answer).to.deep.equal({ kind: 'answer', status: 500, body: '' });
    expect(webhookExit(answer, ['sales']).exit).to.equal('failure');
  });

  it('does not follow a redirect', async () => {
    server.handler = (_request, _body, response) => response.writeHead(302, { location: `http://127.0.0.1:${server.port}/elsewhere` }).end();
    const answer = await createWebhookClient({ clock }).send(request());
    expect(answer).to.deep.equal({ kind: 'answer', status: 302, body: '' });
    expect(server.received.map((entry) => entry.url)).to.deep.equal(['/route?x=1']);
    expect(webhookExit(answer, []).exit).to.equal('failure');
  });

  it('times out on a server that never answers, after the step timeout', async () => {
    server.handler = () => undefined;
    const pending = createWebhookClient({ clock }).send(request({ timeoutSeconds: 4 }));
    while (server.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.fire()).to.deep.equal([4000]);
    const answer = await pending;
    expect(answer).to.deep.equal({ kind: 'failure', failure: 'TIMEOUT' });
    expect(webhookExit(answer, []).exit).to.equal('failure');
  });

  it('an aborted signal closes the connection of a request in flight and answers CALL_ENDED, with no timer left', async () => {
    const closed = new Promise<void>((resolve) => {
      server.handler = (request) => request.socket.once('close', () => resolve());
    });
    const ended = new AbortController();
    const pending = createWebhookClient({ clock }).send(request({ timeoutSeconds: 10 }), ended.signal);
    while (server.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    ended.abort();
    expect(await pending).to.deep.equal({ kind: 'failure', failure: 'CALL_ENDED' });
    await closed;
    expect(clock.armed).to.equal(0);
    expect(webhookExit(await pending, []).exit).to.equal('failure');
  });

  it('a signal aborted before the request sends nothing; one aborted while resolving stops there', async () => {
    const ended = new AbortController();
    ended.abort();
    expect(await createWebhookClient({ clock }).send(request(), ended.signal)).to.deep.equal({ kind: 'failure', failure: 'CALL_ENDED' });
    const resolving = new AbortController();
    const pending = createWebhookClient({ clock, resolve: () => new Promise(() => undefined) }).send(request({ url: 'http://slow.test/' }), resolving.signal);
    resolving.abort();
    expect(await pending).to.deep.equal({ kind: 'failure', failure: 'CALL_ENDED' });
    expect(server.received).to.deep.equal([]);
    expect(clock.armed).to.equal(0);
  });

  it('times out on the real clock (timeoutSeconds 1)', async () => {
    server.handler = (_request, _body, response) => response.writeHead(200).write('{"exit"');
    const started = Date.now();
    const answer = await createWebhookClient().send(request({ timeoutSeconds: 1 }));
    expect(answer).to.deep.equal({ kind: 'failure', failure: 'TIMEOUT' });
    expect(Date.now() - started).to.be.within(900, 2500);
  });

  it('reads an answer at the size limit and refuses one byte more', async () => {
    const limit = 1024;
    const atLimit = `{"exit":"sales"}${' '.repeat(limit - 16)}`;
    server.handler = (_request, _body, response) => {
      // Chunked, no content-length: the limit must hold while reading.
      response.writeHead(200);
      response.write(atLimit.slice(0, 500));
      response.end(atLimit.slice(500));
    };
    const client = createWebhookClient({ clock, maxResponseBytes: limit });
    expect(await client.send(request())).to.deep.equal({ kind: 'answer', status: 200, body: atLimit });
    server.handler = (_request, _body, response) => {
      response.writeHead(200);
      response.write(atLimit);
      response.end(' ');
    };
    expect(await client.send(request())).to.deep.include({ kind: 'failure', failure: 'RESPONSE_TOO_LARGE' });
  });

  it('refuses a body past the default 64 KiB, declared or streamed', async () => {
    server.handler = (_request, _body, response) => response.writeHead(200, { 'content-length': String(64 * 1024 + 1) }).end(' '.repeat(64 * 1024 + 1));
    expect(await createWebhookClient({ clock }).send(request())).to.deep.equal({ kind: 'failure', failure: 'RESPONSE_TOO_LARGE', detail: 'content-length 65537' });
    server.handler = (_request, _body, response) => {
      response.writeHead(200);
      response.write(' '.repeat(64 * 1024));
      response.end('x');
    };
    expect(await createWebhookClient({ clock }).send(request())).to.deep.include({ kind: 'failure', failure: 'RESPONSE_TOO_LARGE' });
  });

  it('connects to the checked address for a host name, sending the name as Host', async () => {
    server.handler = (_request, _body, response) => response.end('{"exit":"support"}');
    const client = createWebhookClient({ clock, resolve: resolveTo(['127.0.0.1']) });
    const answer = await client.send(request({ url: `http://hooks.customer.test:${server.port}/r` }));
    expect(webhookExit(answer, ['support']).exit).to.equal('support');
    expect(resolverCalls).to.deep.equal(['hooks.customer.test'], 'resolved once: the connection cannot resolve again');
    expect(server.received[0].headers.host).to.equal(`hooks.customer.test:${server.port}`);
  });

  it('refuses a host name resolving to a refused address without connecting', async () => {
    const client = createWebhookClient({ clock, resolve: resolveTo(['10.0.0.7']) });
    const answer = await client.send(request({ url: `http://hooks.customer.test:${server.port}/r` }));
    expect(answer).to.deep.equal({ kind: 'failure', failure: 'REFUSED_DESTINATION', detail: '10.0.0.7: private (RFC 1918), not in the allowed networks' });
    expect(server.received).to.deep.equal([]);
    expect(clock.armed).to.equal(0);
  });

  it('refuses a host name when any one of its addresses is refused', async () => {
    const client = createWebhookClient({ clock, resolve: resolveTo(['127.0.0.1', '169.254.169.254']) });
    const answer = await client.send(request({ url: `http://hooks.customer.test:${server.port}/r` }));
    expect(answer).to.deep.include({ kind: 'failure', failure: 'REFUSED_DESTINATION' });
    expect(server.received).to.deep.equal([]);
  });

  it('refuses loopback without the operator network', async () => {
    const answer = await createWebhookClient({ clock }).send(request({ allowedCidrs: [] }));
    expect(answer).to.deep.include({ kind: 'failure', failure: 'REFUSED_DESTINATION' });
    expect(server.received).to.deep.equal([]);
  });

  it('refuses a loopback name reached through an IPv4-mapped address', async () => {
    const client = createWebhookClient({ clock, resolve: resolveTo(['::ffff:127.0.0.1']) });
    const answer = await client.send(request({ url: `http://hooks.customer.test:${server.port}/r`, allowedCidrs: [] }));
    expect(answer).to.deep.include({ kind: 'failure', failure: 'REFUSED_DESTINATION' });
  });

  it('fails on a name that does not resolve, and on a resolver that answers nothing', async () => {
    const failing: Resolve = () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    expect(await createWebhookClient({ clock, resolve: failing }).send(request({ url: 'http://nowhere.test/' }))).to.deep.equal({ kind: 'failure', failure: 'DNS_FAILED', detail: 'ENOTFOUND' });
    expect(await createWebhookClient({ clock, resolve: resolveTo([]) }).send(request({ url: 'http://nowhere.test/' }))).to.deep.equal({ kind: 'failure', failure: 'DNS_FAILED', detail: 'no address' });
  });

  it('times out while resolving', async () => {
    const never: Resolve = () => new Promise(() => undefined);
    const pending = createWebhookClient({ clock, resolve: never }).send(request({ url: 'http://slow.test/' }));
    await new Promise((resolve) => setImmediate(resolve));
    clock.fire();
    expect(await pending).to.deep.equal({ kind: 'failure', failure: 'TIMEOUT' });
  });

  it('fails on a refused connection', async () => {
    const closed = new HookServer();
    await closed.start();
    const port = closed.port;
    await closed.stop();
    const answer = await createWebhookClient({ clock }).send(request({ url: `http://127.0.0.1:${port}/` }));
    expect(answer).to.deep.equal({ kind: 'failure', failure: 'CONNECTION_FAILED', detail: 'ECONNREFUSED' });
  });

  it('fails on a URL that is not http(s), without throwing', async () => {
    expect(await createWebhookClient({ clock }).send(request({ url: 'not a url' }))).to.deep.equal({ kind: 'failure', failure: 'INVALID_URL' });
    expect(await createWebhookClient({ clock }).send(request({ url: 'file:///etc/passwd' }))).to.deep.equal({ kind: 'failure', failure: 'INVALID_URL' });
  });

  it('resolves a real name through the system resolver (localhost)', async () => {
    server.handler = (_request, _body, response) => response.end('{}');
    const answer = await createWebhookClient({ clock }).send(request({ url: `http://localhost:${server.port}/`, allowedCidrs: ['127.0.0.0/8', '::1/128'] }));
    // localhost may resolve to ::1 first, where nothing listens: either way no exception, and never a refusal.
    expect(answer.kind === 'answer' || (answer.kind === 'failure' && answer.failure === 'CONNECTION_FAILED')).to.equal(true);
  });
});
