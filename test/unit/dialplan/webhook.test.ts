import { expect } from 'chai';
import { planInvite, planSnapshot, PLAN_CALL_DEFAULTS } from '../../support/plan-call';
import pino from 'pino';
import { DialPlanApp, type Flow } from '../../../domain/flow/flow';
import type { WebhookAnswer } from '../../../domain/webhook';
import { Branch } from '../../../worker/calls/branch';
import { PlanRunner, type PlanCall, type PlanEnd } from '../../../worker/dialplan/runner';
import { createWebhookClient, type WebhookClient, type WebhookRequest } from '../../../net/webhook-client';
import { FakeClock, FakePort } from '../../support/fakes';

const INVITE = planInvite('hook-1', 'z9hG4bKw', 'sip:02079460999@carrier');

const SECRET = 'a-secret-of-16-chars';

/** WEBHOOK with a declared `sales` exit; each exit ends in a HANGUP of its own status; `support` forwards. */
const FLOW: Flow = {
  entryStepId: 'ask',
  steps: [
    {
      id: 'ask',
      app: DialPlanApp.WEBHOOK,
      webhook: { url: 'https://hooks.example.com/route?token=t0k3n', timeoutSeconds: 3, secret: SECRET, exits: ['sales', 'support'] },
      exits: [
        { on: 'sales', stepId: 'sales' },
        { on: 'success', stepId: 'ok' },
        { on: 'failure', stepId: 'failed' },
        { on: 'support', stepId: 'support' },
      ],
    },
    { id: 'sales', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
    { id: 'ok', app: DialPlanApp.HANGUP, hangup: { status: 480 }, exits: [] },
    { id: 'failed', app: DialPlanApp.HANGUP, hangup: { status: 503 }, exits: [] },
    { id: 'support', app: DialPlanApp.FORWARD, forward: { target: 'sip:support@198.51.100.30', ringTimeoutSeconds: 20 }, exits: [] },
  ],
};

/** A client that records each request and answers when the test says so. */
class FakeWebhookClient implements WebhookClient {
  readonly requests: WebhookRequest[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  private readonly answers: ((answer: WebhookAnswer) => void)[] = [];

  send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookAnswer> {
    this.requests.push(request);
    this.signals.push(signal);
    return new Promise((resolve) => this.answers.push(resolve));
  }

  answer(answer: WebhookAnswer): Promise<void> {
    this.answers.shift()?.(answer);
    // Let the executor's `then` run.
    return new Promise((resolve) => setImmediate(resolve));
  }
}

function run(client: WebhookClient, clock = new FakeClock()) {
  const port = new FakePort();
  const ends: PlanEnd[] = [];
  const logged: string[] = [];
  const ended = new AbortController();
  const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
  const call: PlanCall = {
    ...PLAN_CALL_DEFAULTS,
    invite: INVITE,
    port,
    clock,
    logger,
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    startBranch: (options) => new Branch({ ...options, onProvisional: () => undefined, onAnswerRetransmitted: () => undefined }, port, clock).start(),
    facts: { companyId: 'company-1', trunkId: 'trunk-1', failoverReason: 'NOT_REGISTERED' },
    snapshot: planSnapshot({ webhookAllowedNetworks: ['10.0.0.0/8'] }),
    webhookClient: client,
    ended: ended.signal,
  };
  new PlanRunner({ id: 'webhook-plan', flow: FLOW }, call, (end) => {
    ended.abort();
    ends.push(end);
  }).start();
  return { port, ends, logged, clock, end: () => ended.abort() };
}

describe('WEBHOOK executor', () => {
  it('sends the call facts, the secret, the timeout and the allowed networks, and answers nothing meanwhile', () => {
    const client = new FakeWebhookClient();
    const clock = new FakeClock();
    clock.advance(1_700_000_000_000);
    const { ends, port } = run(client, clock);
    expect(ends).to.deep.equal([]);
    expect(port.replies).to.deep.equal([]);
    expect(client.requests).to.have.length(1);
    const [request] = client.requests;
    expect(request).to.include({ url: 'https://hooks.example.com/route?token=t0k3n', timeoutSeconds: 3, secret: SECRET });
    expect(request.allowedCidrs).to.deep.equal(['10.0.0.0/8']);
    expect(JSON.parse(request.body)).to.deep.equal({
      callId: 'hook-1',
      companyId: 'company-1',
      trunkId: 'trunk-1',
      did: '+442079460001',
      caller: '+442079460999',
      failoverReason: 'NOT_REGISTERED',
      at: new Date(1_700_000_000_000).toISOString(),
    });
  });

  const rows: { name: string; answer: WebhookAnswer; status: number }[] = [
    { name: 'a declared exit named by a 2xx', answer: { kind: 'answer', status: 200, body: '{"exit":"sales"}' }, status: 486 },
    { name: 'a 2xx without an exit: success', answer: { kind: 'answer', status: 204, body: '' }, status: 480 },
    { name: 'a 2xx naming success', answer: { kind: 'answer', status: 200, body: '{"exit":"success"}' }, status: 480 },
    { name: 'an exit the step did not declare: failure', answer: { kind: 'answer', status: 200, body: '{"exit":"billing"}' }, status: 503 },
    { name: 'a 500: failure', answer: { kind: 'answer', status: 500, body: '' }, status: 503 },
    { name: 'a redirect: failure', answer: { kind: 'answer', status: 302, body: '' }, status: 503 },
    { name: 'a body that is not JSON: failure', answer: { kind: 'answer', status: 200, body: 'sales' }, status: 503 },
    { name: 'a timeout: failure', answer: { kind: 'failure', failure: 'TIMEOUT' }, status: 503 },
    { name: 'a refused destination: failure', answer: { kind: 'failure', failure: 'REFUSED_DESTINATION', detail: '10.1.1.1' }, status: 503 },
    { name: 'a connection failure: failure', answer: { kind: 'failure', failure: 'CONNECTION_FAILED' }, status: 503 },
  ];
  for (const row of rows) {
    it(`${row.name} leads to the step on that exit`, async () => {
      const client = new FakeWebhookClient();
      const { ends } = run(client);
      await client.answer(row.answer);
      expect(ends).to.deep.equal([{ kind: 'Respond', status: row.status }]);
    });
  }

  it('with the real client: no answer within timeoutSeconds takes failure (on the call clock)', async () => {
    const clock = new FakeClock();
    const client = createWebhookClient({ clock, resolve: () => new Promise(() => undefined) });
    const { ends } = run(client, clock);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(2_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).to.deep.equal([]);
    clock.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 503 }]);
  });

  it('once the call is over, the webhook answer that follows is ignored and no next step runs', async () => {
    const client = new FakeWebhookClient();
    const { ends, port, end, logged } = run(client);
    end();
    await client.answer({ kind: 'answer', status: 200, body: '{"exit":"support"}' });
    expect(ends).to.deep.equal([]);
    expect(port.sent).to.deep.equal([], 'the support FORWARD never starts');
    expect(logged.join('')).to.include('webhook answered after the call ended: ignored');
  });

  it("the call's end aborts its request: the client is handed the call's signal, aborted when the call ends", () => {
    const client = new FakeWebhookClient();
    const { end } = run(client);
    expect(client.signals).to.have.length(1);
    expect(client.signals[0]?.aborted).to.equal(false);
    end();
    expect(client.signals[0]?.aborted).to.equal(true);
  });

  it("with the real client: the call's end stops the request at once (no timer left), and no next step runs", async () => {
    const clock = new FakeClock();
    const client = createWebhookClient({ clock, resolve: () => new Promise(() => undefined) });
    const { ends, port, end, logged } = run(client, clock);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.pending()).to.equal(1, 'the request timeout');
    end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.pending()).to.equal(0);
    expect(ends).to.deep.equal([]);
    expect(port.sent).to.deep.equal([]);
    expect(logged.join('')).to.include('webhook request aborted: the call ended');
  });

  it('a declared exit leading to a FORWARD rings it; the log line names the step and exit, never the URL or secret', async () => {
    const client = new FakeWebhookClient();
    const { port, logged } = run(client);
    await client.answer({ kind: 'answer', status: 200, body: '{"exit":"support"}' });
    expect(port.sent).to.have.length(1);
    expect(port.sent[0].request.uri).to.equal('sip:support@198.51.100.30');
    const text = logged.join('');
    expect(text).to.include('"exit":"support"').and.include('"stepId":"ask"');
    expect(text).to.not.include(SECRET).and.not.include('t0k3n');
  });

  it('a fault in the steps after the answer (run outside any SIP message) ends the call through abort, once', async () => {
    const client = new FakeWebhookClient();
    const aborted: unknown[] = [];
    const call: PlanCall = {
      ...PLAN_CALL_DEFAULTS,
      invite: INVITE,
      port: new FakePort(),
      clock: new FakeClock(),
      logger: pino({ level: 'silent' }),
      recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
      webhookClient: client,
      startBranch: () => {
        throw new Error('the branch could not start');
      },
      abort: (error) => aborted.push(error),
    };
    const ends: PlanEnd[] = [];
    new PlanRunner({ id: 'webhook-plan', flow: FLOW }, call, (end) => ends.push(end)).start();
    await client.answer({ kind: 'answer', status: 200, body: JSON.stringify({ exit: 'support' }) });
    expect(aborted.map((error) => (error as Error).message)).to.deep.equal(['the branch could not start']);
    expect(ends).to.deep.equal([]);
  });
});
