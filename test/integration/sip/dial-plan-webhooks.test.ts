import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { webhookSignature } from '../../../domain/webhook';
import { OPERATOR_KEY } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil } from '../../support/sip-peer';

const SECRET = 'loopback-webhook-secret';

interface Received {
  readonly path: string;
  readonly body: string;
  readonly signature: string | undefined;
  /** When the client's connection closed (Date.now()). */
  readonly closed: Promise<number>;
}

/** A loopback HTTP server standing in for the customer's system: each path answers its own way. */
async function startWebhookServer(): Promise<{ server: http.Server; port: number; received: Received[]; held: http.ServerResponse[] }> {
  const received: Received[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    const closed = new Promise<number>((resolve) => request.socket.once('close', () => resolve(Date.now())));
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8'), signature: request.headers['x-signature'] as string | undefined, closed });
      if (request.url === '/closed') response.writeHead(200, { 'content-type': 'application/json' }).end('{"exit":"closed"}');
      else held.push(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received, held };
}

describe('WEBHOOK steps through a real failover (SIP and HTTP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let hook: Awaited<ReturnType<typeof startWebhookServer>>;
  let target: SipPeer;
  let targetSeen: ReturnType<typeof actAsPbx>;

  /** A trunk that is not registered (so every call fails over) whose plan asks the webhook at `path`. */
  function webhookFlow(path: string, timeoutSeconds = 3): Record<string, unknown> {
    return {
      entryStepId: 'ask',
      steps: [
        {
          id: 'ask',
          app: 'WEBHOOK',
          webhook: { url: `http://127.0.0.1:${hook.port}${path}`, timeoutSeconds, secret: SECRET, exits: ['closed', 'ring'] },
          exits: [
            { on: 'closed', stepId: 'closed' },
            { on: 'ring', stepId: 'ring' },
            { on: 'failure', stepId: 'failed' },
          ],
        },
        { id: 'closed', app: 'HANGUP', hangup: { status: 486 } },
        { id: 'failed', app: 'HANGUP', hangup: { status: 503 } },
        { id: 'ring', app: 'FORWARD', forward: { target: `sip:desk@127.0.0.1:${target.port}`, ringTimeoutSeconds: 5 } },
      ],
    };
  }

  before(async () => {
    h = await SipHarness.start();
    hook = await startWebhookServer();
    target = await SipPeer.start('desk');
    targetSeen = actAsPbx(target, () => ({ kind: 'answer' }));
    await h.applying(() => h.api.ok(OPERATOR_KEY, `mutation { setWebhookAllowedNetworks(cidrs: ["127.0.0.0/8"]) }`), 'webhook_allowed_networks');
  });
  after(async () => {
    for (const response of hook.held) response.destroy();
    hook.server.close();
    target.stop();
    await h.stop();
  });

  it("takes the exit the webhook names; the request carries the call's facts, signed, and the caller hears only 100 meanwhile", async () => {
    const DID = '+442079465001';
    const trunk = await h.trunk({ username: 'hook-closed', number: DID, flow: webhookFlow('/closed') });
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(486);
    expect(call.statuses()).to.deep.equal([100, 486]);
    const request = hook.received.find((entry) => JSON.parse(entry.body).callId === call.callId);
    expect(request).to.not.equal(undefined);
    const body = JSON.parse(request?.body ?? '{}');
    expect(body).to.deep.include({ callId: call.callId, companyId: trunk.companyId, trunkId: trunk.trunkId, did: DID, caller: '+4930901820', failoverReason: 'NOT_REGISTERED' });
    const t = Number(/^t=(\d+),/.exec(request?.signature ?? '')?.[1]);
    expect(request?.signature).to.equal(webhookSignature(SECRET, request?.body ?? '', t));
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED', final_status: 486 });
  });

  it('a webhook that does not answer within its timeout takes failure', async () => {
    const DID = '+442079465002';
    await h.trunk({ username: 'hook-silent', number: DID, flow: webhookFlow('/silent', 1) });
    const started = Date.now();
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final(5000)).status).to.equal(503);
    expect(Date.now() - started).to.be.within(900, 3000);
    expect(hook.received.some((entry) => entry.path === '/silent' && JSON.parse(entry.body).callId === call.callId)).to.equal(true);
  });

  it("the caller's CANCEL during the request aborts it: the server sees the connection closed at once, the caller gets 487, one record", async () => {
    const DID = '+442079465003';
    await h.trunk({ username: 'hook-held', number: DID, flow: webhookFlow('/hold', 10) });
    const invitesBefore = targetSeen.invites.length;
    const call = placeCall(h.carrier, h.proxy, DID);
    const request = await waitUntil(() => hook.received.find((entry) => entry.path === '/hold' && JSON.parse(entry.body).callId === call.callId), 3000, 'the webhook request');
    const cancelledAt = Date.now();
    call.cancel();
    expect((await call.final()).status).to.equal(487);
    // The step's timeout is 10 s: a connection that outlived the call would close only then.
    expect((await request.closed) - cancelledAt).to.be.below(1000);
    expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', final_status: 487 });
    const records: unknown[] = await h.api.dataSource.query('SELECT id FROM call_record WHERE call_id = $1', [call.callId]);
    expect(records).to.have.length(1);
    expect(targetSeen.invites.length).to.equal(invitesBefore, 'the FORWARD after the webhook never rings');
    expect(call.statuses().filter((status) => status >= 200)).to.deep.equal([487]);
  });

  it('refuses a webhook to an address outside the allowed networks (the metadata address) with BAD_USER_INPUT', async () => {
    const company = await h.api.company('Hook refused Co');
    const result = await h.api.request(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
      input: {
        companyId: company.id,
        name: 'Metadata',
        internalNumber: '1',
        flow: { entryStepId: 'ask', steps: [{ id: 'ask', app: 'WEBHOOK', webhook: { url: 'http://169.254.169.254/latest/meta-data' } }] },
      },
    });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.text).to.include('flow.steps[0].webhook.url: the address 169.254.169.254 is link-local');
  });
});
